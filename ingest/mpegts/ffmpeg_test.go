package mpegts

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/ingest/flv"
)

// These tests run the real thing: ffmpeg encodes a stream with x264
// (B-frames, so composition times are not zero) and AAC into an FLV file,
// its tags go through the flv parsers into a Segmenter, and ffprobe and
// ffmpeg read the segments back through an HLS playlist.

// requireTool finds a program for a test that needs it: it skips the test
// when the program is missing, and fails it instead when CI is set.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required when CI is set: %v", name, err)
		}
		t.Skipf("%s not found (install Debian's ffmpeg package): %v", name, err)
	}
	return path
}

func run(t *testing.T, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// makeFLV encodes seconds of test pattern and tone into an FLV file.
func makeFLV(t *testing.T, ffmpeg string, seconds int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.flv")
	run(t, ffmpeg, "-v", "error",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-g", "60", "-bf", "2", "-c:a", "aac",
		"-t", strconv.Itoa(seconds), "-f", "flv", path)
	return path
}

type flvTag struct {
	typ  byte // 8 audio, 9 video, 18 script data
	ts   uint32
	body []byte
}

// readFLV reads an FLV file (FLV 10.1 annex E.2, E.3): the header, then
// tags each followed by the size of the tag before.
func readFLV(t *testing.T, path string) []flvTag {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 13 || string(b[:3]) != "FLV" || b[3] != 1 {
		t.Fatalf("%s is not an FLV file", path)
	}
	p := b[int(b[5])<<24|int(b[6])<<16|int(b[7])<<8|int(b[8])+4:]
	var tags []flvTag
	for len(p) >= 11 {
		size := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if len(p) < 11+size+4 {
			t.Fatalf("tag %d truncated", len(tags))
		}
		tags = append(tags, flvTag{
			typ:  p[0] & 0x1f,
			ts:   uint32(p[7])<<24 | uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6]),
			body: p[11 : 11+size],
		})
		p = p[11+size+4:]
	}
	return tags
}

type remuxResult struct {
	segs        []Segment
	videoFrames int // coded frames fed
	audioFrames int
	stats       Stats
}

// tracks says which tracks of the FLV file go into the segmenter.
type tracks struct{ video, audio bool }

// remux feeds FLV tags through flv.ParseVideo/ParseAudio into a segmenter
// made by newSeg once the sequence headers of the tracks wanted have been
// seen, the way the RTMP server does.
func remux(t *testing.T, tags []flvTag, want tracks, newSeg func(*VideoConfig, *AudioConfig, func(Segment)) (*Segmenter, error)) remuxResult {
	t.Helper()
	var (
		res    remuxResult
		avc    *flv.AVCConfig
		aac    *flv.AACConfig
		s      *Segmenter
		emit   = func(seg Segment) { res.segs = append(res.segs, seg) }
		ensure = func() {
			if s != nil || (want.video && avc == nil) || (want.audio && aac == nil) {
				return
			}
			var vc *VideoConfig
			var ac *AudioConfig
			if want.video {
				vc = &VideoConfig{SPS: avc.SPS, PPS: avc.PPS}
			}
			if want.audio {
				ac = &AudioConfig{ObjectType: aac.ObjectType, SampleRateIndex: aac.SampleRateIndex, SampleRate: aac.SampleRate, Channels: aac.Channels}
			}
			var err error
			if s, err = newSeg(vc, ac, emit); err != nil {
				t.Fatal(err)
			}
		}
	)
	for i, tag := range tags {
		switch tag.typ {
		case 9:
			v, err := flv.ParseVideo(tag.body)
			if err != nil {
				t.Fatalf("tag %d: %v", i, err)
			}
			switch v.PacketType {
			case flv.VideoSequenceStart:
				cfg, err := flv.ParseAVCConfig(v.Data)
				if err != nil {
					t.Fatalf("tag %d: %v", i, err)
				}
				avc = &cfg
			case flv.VideoCodedFrames:
				if !want.video {
					continue
				}
				ensure()
				if err := s.WriteVideo(int64(tag.ts), v.CompositionTime, v.Keyframe, v.Data, avc.LengthSize); err != nil {
					t.Fatalf("tag %d: %v", i, err)
				}
				res.videoFrames++
			}
		case 8:
			a, err := flv.ParseAudio(tag.body)
			if err != nil {
				t.Fatalf("tag %d: %v", i, err)
			}
			if a.SequenceHeader {
				cfg, err := flv.ParseAACConfig(a.Data)
				if err != nil {
					t.Fatalf("tag %d: %v", i, err)
				}
				aac = &cfg
				continue
			}
			if !want.audio {
				continue
			}
			ensure()
			if err := s.WriteAudio(int64(tag.ts), a.Data); err != nil {
				t.Fatalf("tag %d: %v", i, err)
			}
			res.audioFrames++
		}
	}
	if s == nil {
		t.Fatal("no media in the FLV file")
	}
	s.Close()
	res.stats = s.Stats()
	return res
}

// writeHLS writes the segments and a VOD playlist for them into a new
// directory and returns the playlist's path.
func writeHLS(t *testing.T, segs []Segment) string {
	t.Helper()
	dir := t.TempDir()
	var target float64
	var list strings.Builder
	for i, seg := range segs {
		name := fmt.Sprintf("seg%d.ts", i)
		if err := os.WriteFile(filepath.Join(dir, name), seg.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		target = max(target, math.Round(seg.Duration.Seconds()))
		fmt.Fprintf(&list, "#EXT-X-PROGRAM-DATE-TIME:%s\n#EXTINF:%.3f,\n%s\n", seg.Start.UTC().Format("2006-01-02T15:04:05.000Z"), seg.Duration.Seconds(), name)
	}
	playlist := fmt.Sprintf("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n%s#EXT-X-ENDLIST\n", int(target), list.String())
	path := filepath.Join(dir, "index.m3u8")
	if err := os.WriteFile(path, []byte(playlist), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFFmpegRoundTrip(t *testing.T) {
	ffmpeg, ffprobe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	tags := readFLV(t, makeFLV(t, ffmpeg, 6))

	for _, tc := range []struct {
		name string
		zero int64
	}{
		{"from one second", startTicks},
		{"across the 33-bit wrap", 1<<33 - 3*ticksPerSecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := remux(t, tags, tracks{video: true, audio: true}, func(v *VideoConfig, a *AudioConfig, emit func(Segment)) (*Segmenter, error) {
				return newSegmenter(Config{}, v, a, emit, tc.zero)
			})
			playlist := writeHLS(t, res.segs)

			// Cut points: x264 puts a keyframe every 60 frames (2 s).
			if len(res.segs) != 3 {
				t.Fatalf("%d segments, want 3", len(res.segs))
			}
			for i, seg := range res.segs {
				// The last one runs to the end of the audio, which the AAC
				// encoder's padding makes a little longer than the video.
				slack := 50 * time.Millisecond
				if i == len(res.segs)-1 {
					slack = 150 * time.Millisecond
				}
				if d := seg.Duration - 2*time.Second; d < -slack || d > slack {
					t.Errorf("segment %d lasts %v, want 2 s", i, seg.Duration)
				}
				first := checkSegmentStart(t, seg)
				if types := nalTypes(first.data); first.pid != videoPID || !first.rai ||
					!slices.Equal(types[:3], []int{naluAUD, naluSPS, naluPPS}) || !slices.Contains(types, naluIDR) {
					t.Errorf("segment %d starts with PID %#x rai %v NAL units %v", i, first.pid, first.rai, types)
				}
				// ffmpeg agrees that each segment opens on a keyframe.
				out, _ := run(t, ffprobe, "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
					"-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0",
					filepath.Join(filepath.Dir(playlist), fmt.Sprintf("seg%d.ts", i)))
				// (A trailing comma comes with frames that carry side data.)
				if got := strings.TrimRight(strings.TrimSpace(out), ","); got != "1,I" {
					t.Errorf("segment %d: first frame per ffprobe %q, want key frame I", i, got)
				}
			}

			// ffprobe sees H.264 and AAC, and every frame fed.
			out, _ := run(t, ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", playlist)
			var probe struct {
				Streams []struct {
					CodecName    string `json:"codec_name"`
					NbReadFrames string `json:"nb_read_frames"`
					Width        int    `json:"width"`
					SampleRate   string `json:"sample_rate"`
				} `json:"streams"`
			}
			if err := json.Unmarshal([]byte(out), &probe); err != nil {
				t.Fatalf("ffprobe output: %v\n%s", err, out)
			}
			got := map[string]int{}
			for _, st := range probe.Streams {
				got[st.CodecName], _ = strconv.Atoi(st.NbReadFrames)
			}
			if got["h264"] != res.videoFrames {
				t.Errorf("ffprobe decoded %d H.264 frames, %d were fed (streams %+v)", got["h264"], res.videoFrames, probe.Streams)
			}
			if wantAudio := res.audioFrames - res.stats.DroppedBeforeKeyframe; got["aac"] < wantAudio-1 {
				t.Errorf("ffprobe decoded %d AAC frames, %d were written (streams %+v)", got["aac"], wantAudio, probe.Streams)
			}

			// Every packet's DTS moves forward, per stream, across segments.
			out, _ = run(t, ffprobe, "-v", "error", "-show_entries", "packet=codec_type,dts_time", "-of", "csv=p=0", playlist)
			last := map[string]float64{}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue // ffprobe's csv writer separates some packets by blank lines
				}
				fields := strings.Split(line, ",")
				kind := fields[0]
				dts, err := strconv.ParseFloat(fields[min(1, len(fields)-1)], 64)
				if err != nil {
					t.Fatalf("ffprobe packet line %q", line)
				}
				if l, ok := last[kind]; ok && (dts <= l || dts-l > 0.1) {
					t.Fatalf("%s packet at %v after %v", kind, dts, l)
				}
				last[kind] = dts
			}

			// And ffmpeg decodes it all without a single complaint.
			_, stderr := run(t, ffmpeg, "-v", "error", "-xerror", "-i", playlist, "-f", "null", "-")
			if stderr != "" {
				t.Errorf("ffmpeg decoding the playlist said:\n%s", stderr)
			}
		})
	}
}

// TestFFmpegSingleTrack checks that video-only and audio-only streams play
// too: ffmpeg decodes every frame fed without complaint.
func TestFFmpegSingleTrack(t *testing.T) {
	ffmpeg, ffprobe := requireTool(t, "ffmpeg"), requireTool(t, "ffprobe")
	tags := readFLV(t, makeFLV(t, ffmpeg, 5))
	for _, tc := range []struct {
		name   string
		tracks tracks
		codec  string
	}{
		{"video only", tracks{video: true}, "h264"},
		{"audio only", tracks{audio: true}, "aac"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := remux(t, tags, tc.tracks, func(v *VideoConfig, a *AudioConfig, emit func(Segment)) (*Segmenter, error) {
				return NewSegmenter(Config{}, v, a, emit)
			})
			if len(res.segs) != 3 {
				t.Errorf("%d segments, want 3 (2 s, 2 s, 1 s)", len(res.segs))
			}
			playlist := writeHLS(t, res.segs)
			out, _ := run(t, ffprobe, "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", playlist)
			fed := res.videoFrames + res.audioFrames
			// ffprobe lists the stream twice: under its program and alone.
			if got, _, _ := strings.Cut(strings.TrimSpace(out), "\n"); got != fmt.Sprintf("%s,%d", tc.codec, fed) {
				t.Errorf("ffprobe says %q, want %s with %d frames", got, tc.codec, fed)
			}
			if _, stderr := run(t, ffmpeg, "-v", "error", "-xerror", "-i", playlist, "-f", "null", "-"); stderr != "" {
				t.Errorf("ffmpeg decoding the playlist said:\n%s", stderr)
			}
		})
	}
}
