// The app's own alert sound: two bright notes, made with Web Audio, so no
// sound file has to be shipped or fetched. The overlay plays it for each
// alert; the studio for each new gift.

let audio: AudioContext | null = null;

export function chime(volume = 0.8): void {
  const w = window as unknown as { __chimes?: number };
  w.__chimes = (w.__chimes ?? 0) + 1; // what tests (and curious people) can count
  try {
    audio ??= new AudioContext();
    void audio.resume();
    const now = audio.currentTime;
    for (const [i, freq] of [880, 1318.5].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      const start = now + i * 0.14;
      gain.gain.setValueAtTime(0, start);
      gain.gain.linearRampToValueAtTime(0.35 * volume, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.6);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.65);
    }
  } catch {
    // No Web Audio: the alert shows without its sound.
  }
}
