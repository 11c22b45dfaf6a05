// Package timecode burns a wall-clock time into video frames as a grid of
// black and white blocks, and reads it back, so a benchmark can tell how
// late a frame reaches the screen: a publisher draws the time each frame is
// made, a page reads the frame it shows and compares with its clock.
// Blocks survive any encoder at a sane bitrate, where digits drawn as text
// would need OCR.
//
// Entry points: Frame draws a time into a gray frame; Read reads it back
// (for tests); Probe is the page script that reads it from a playing video
// element in a browser. Everything here is safe for concurrent use.
package timecode

import (
	"context"
	"io"
	"math/bits"
	"time"
)

// The grid: Cols × Rows blocks of Block pixels in the frame's top-left
// corner, row by row, most significant bit first. 44 bits hold Unix
// milliseconds until the year 2527; the last 4 are a check (the number of
// set bits, modulo 16), so a frame caught mid-change is not misread.
const (
	Cols  = 8
	Rows  = 6
	Block = 40
	bitsN = Cols * Rows
	msN   = 44
)

// Width and Height are the least frame size the grid fits in.
const (
	Width  = Cols * Block
	Height = Rows * Block
)

func word(ms int64) uint64 {
	v := uint64(ms) & (1<<msN - 1)
	return v<<4 | uint64(bits.OnesCount64(v)&0xf)
}

// Frame fills frame, a w × h 8-bit gray image (w ≥ Width, h ≥ Height), with
// a mid-gray background, a moving bar (so the encoder has motion to code)
// and the grid for ms.
func Frame(frame []byte, w, h int, ms int64) {
	bar := int(ms/8) % w
	for y := range h {
		row := frame[y*w : (y+1)*w]
		for x := range row {
			row[x] = 128
			if x >= bar && x < bar+16 && y >= Height {
				row[x] = 40
			}
		}
	}
	v := word(ms)
	for i := range bitsN {
		on := v>>(bitsN-1-i)&1 == 1
		c := byte(16)
		if on {
			c = 235
		}
		x0, y0 := i%Cols*Block, i/Cols*Block
		for y := y0; y < y0+Block; y++ {
			for x := x0; x < x0+Block; x++ {
				frame[y*w+x] = c
			}
		}
	}
}

// Read reads the time from a w × h gray frame, and whether its check holds.
func Read(frame []byte, w, h int) (int64, bool) {
	var v uint64
	for i := range bitsN {
		x, y := i%Cols*Block+Block/2, i/Cols*Block+Block/2
		v <<= 1
		if frame[y*w+x] >= 128 {
			v |= 1
		}
	}
	ms := v >> 4
	return int64(ms), word(int64(ms)) == v
}

// Probe is a page script: on every animation frame it reads the grid of
// the frame the page's <video> shows, and records in
// window.__timecode.samples when each new time code was first shown
// ({code, shown, late} in Unix ms, late = shown − code) and in
// window.__timecode.first when the first one was (animation frames come
// every 16 ms or so, which bounds the error). Frames whose check fails
// are counted in window.__timecode.unread. It reads the grid at the
// video's own size, whatever the element's.
const Probe = `(() => {
  if (window.__timecode) return;
  const tc = window.__timecode = { samples: [], unread: 0, first: 0, last: 0 };
  const cols = 8, rows = 6, block = 40;
  const canvas = document.createElement('canvas');
  canvas.width = cols * block; canvas.height = rows * block;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const word = (ms) => {
    let v = BigInt(ms) & ((1n << 44n) - 1n), n = 0n, x = v;
    while (x) { n += x & 1n; x >>= 1n; }
    return (v << 4n) | (n & 15n);
  };
  const read = (video) => {
    if (video.videoWidth < cols * block || video.videoHeight < rows * block || video.readyState < 2) return -1;
    ctx.drawImage(video, 0, 0, cols * block, rows * block, 0, 0, cols * block, rows * block);
    const px = ctx.getImageData(0, 0, cols * block, rows * block).data;
    let v = 0n;
    for (let i = 0; i < cols * rows; i++) {
      const x = (i % cols) * block + block / 2, y = Math.floor(i / cols) * block + block / 2;
      let sum = 0;
      for (let dy = -4; dy <= 4; dy += 4) for (let dx = -4; dx <= 4; dx += 4) sum += px[((y + dy) * cols * block + x + dx) * 4];
      v = (v << 1n) | (sum / 9 >= 128 ? 1n : 0n);
    }
    const ms = v >> 4n;
    return word(ms) === v ? Number(ms) : null;
  };
  const tick = () => {
    requestAnimationFrame(tick);
    const video = document.querySelector('video');
    if (!video) return;
    const shown = Date.now();
    const code = read(video);
    if (code === -1) return;
    if (code === null) { tc.unread++; return; }
    if (code === tc.last) return;
    tc.last = code;
    if (!tc.first) tc.first = shown;
    tc.samples.push({ code, shown, late: shown - code });
    if (tc.samples.length > 20000) tc.samples.splice(0, 10000);
  };
  requestAnimationFrame(tick);
})();`

// Camera is a page script for a publisher in a browser: it wraps
// navigator.mediaDevices.getUserMedia so that the video track it returns
// is a 640 × 360 canvas (captureStream at 30 fps) painting, like Frame,
// the grid of the time each frame is painted, with a moving bar; audio is
// the real (or fake) microphone's. A page that publishes its camera then
// publishes the time code, for Probe to read on a viewer's page.
const Camera = `(() => {
  if (!navigator.mediaDevices || window.__timecodeCamera) return;
  window.__timecodeCamera = true;
  const cols = 8, rows = 6, block = 40, w = 640, h = 360;
  const word = (ms) => {
    let v = BigInt(ms) & ((1n << 44n) - 1n), n = 0n, x = v;
    while (x) { n += x & 1n; x >>= 1n; }
    return (v << 4n) | (n & 15n);
  };
  const orig = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    const real = await orig(c);
    if (!c || !c.video) return real;
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext('2d');
    const paint = () => {
      const ms = Date.now();
      ctx.fillStyle = 'rgb(128,128,128)'; ctx.fillRect(0, 0, w, h);
      ctx.fillStyle = 'rgb(40,40,40)'; ctx.fillRect(Math.floor(ms / 8) % w, rows * block, 16, h - rows * block);
      const v = word(ms);
      for (let i = 0; i < cols * rows; i++) {
        const on = (v >> BigInt(cols * rows - 1 - i)) & 1n;
        ctx.fillStyle = on ? 'rgb(235,235,235)' : 'rgb(16,16,16)';
        ctx.fillRect((i % cols) * block, Math.floor(i / cols) * block, block, block);
      }
    };
    paint();
    const timer = setInterval(paint, 10);
    const track = canvas.captureStream(30).getVideoTracks()[0];
    track.addEventListener('ended', () => clearInterval(timer));
    const stop = track.stop.bind(track);
    track.stop = () => { clearInterval(timer); stop(); };
    real.getVideoTracks().forEach((t) => { real.removeTrack(t); t.stop(); });
    real.addTrack(track);
    return real;
  };
})();`

// Write writes w × h gray frames at fps to out in real time, each showing
// the wall-clock time (now) it is written, until ctx ends or a write fails.
// It returns the time drawn in the last frame written whole.
func Write(ctx context.Context, out io.Writer, w, h, fps int, now func() time.Time) (last int64, err error) {
	frame := make([]byte, w*h)
	every := time.Second / time.Duration(fps)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ms := now().UnixMilli()
		Frame(frame, w, h, ms)
		if _, err := out.Write(frame); err != nil {
			return last, err
		}
		last = ms
		select {
		case <-ctx.Done():
			return last, nil
		case <-t.C:
		}
	}
}
