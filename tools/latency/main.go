// Command latency measures glass-to-glass latency: how late a frame made by
// the publisher is shown by a viewer's page in Chromium.
//
// It publishes a live stream with ffmpeg (x264 with -tune zerolatency, a
// 2 s keyframe interval by default, and AAC) whose frames carry the time
// they were made as a grid of blocks (internal/timecode), opens the viewer
// page in headless Chromium, reads the grid of every frame the page
// presents and compares it with the clock (one machine, one clock). It
// also opens the page afresh a few times and times the first frame.
//
//	go run ./tools/latency -page http://127.0.0.1:18100/f/ID -rtmp rtmp://127.0.0.1:19351/live/KEY
//
// scripts/latency-bench.sh starts a server and runs it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/givelive/givelive/internal/timecode"
)

func main() {
	pageURL := flag.String("page", "", "the viewer page (http://HOST/f/ID)")
	rtmpURL := flag.String("rtmp", "", "where to publish (rtmp://HOST/live/KEY); empty: something else publishes time-coded frames")
	warmup := flag.Duration("warmup", 10*time.Second, "how long to play before measuring")
	duration := flag.Duration("duration", 30*time.Second, "how long to measure")
	starts := flag.Int("starts", 5, "how many fresh page loads to time")
	shots := flag.Int("screenshots", 10, "how many screenshots to read as a cross-check (what the compositor shows)")
	gop := flag.Int("g", 60, "keyframe interval, in frames (30 fps)")
	size := flag.String("size", "640x360", "frame size")
	bitrate := flag.String("b", "1500k", "video bitrate")
	zerolatency := flag.Bool("zerolatency", true, "x264 -tune zerolatency (false: x264's defaults, lookahead and B-frames, as a plain ffmpeg command line has)")
	codec := flag.String("codec", "h264", "h264: ffmpeg encodes with x264 (and AAC) and publishes; av1: ffmpeg encodes with SVT-AV1 in its low-delay mode and a gortmplib client publishes it over Enhanced RTMP (video only), as OBS 30+ does")
	chromium := flag.String("chromium", "/usr/bin/chromium", "Chromium's path")
	jsonOut := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()
	if *pageURL == "" {
		flag.Usage()
		os.Exit(2)
	}
	var w, h int
	if _, err := fmt.Sscanf(*size, "%dx%d", &w, &h); err != nil || w < timecode.Width || h < timecode.Height {
		log.Fatalf("-size %q: want WxH of at least %dx%d", *size, timecode.Width, timecode.Height)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if *rtmpURL != "" {
		publisher := func() (func(), error) { return publish(ctx, *rtmpURL, w, h, *gop, *bitrate, *zerolatency) }
		switch *codec {
		case "h264":
		case "av1":
			publisher = func() (func(), error) { return publishAV1(ctx, *rtmpURL, w, h, *gop) }
		default:
			log.Fatalf("-codec %q: want h264 or av1", *codec)
		}
		stop, err := publisher()
		if err != nil {
			log.Fatal(err)
		}
		defer stop()
	}

	res, err := measure(ctx, *chromium, *pageURL, *warmup, *duration, *starts, *shots)
	if err != nil {
		log.Fatal(err)
	}
	if *jsonOut {
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("glass-to-glass over %s (%d frames, %d unread): median %d ms, p90 %d ms, p99 %d ms, min %d ms, max %d ms\n",
		*duration, res.Frames, res.Unread, res.Median, res.P90, res.P99, res.Min, res.Max)
	if len(res.Screenshots) > 0 {
		fmt.Printf("cross-check, %d screenshots read: median %d ms (timed when the capture was asked; the frame captured may be a little newer)\n", len(res.Screenshots), median(res.Screenshots))
	}
	fmt.Printf("first frame after opening the page (%d loads): median %d ms, max %d ms\n", len(res.Starts), median(res.Starts), slices.Max(res.Starts))
}

// result is what one run measured, in milliseconds.
type result struct {
	Frames, Unread             int
	Median, P90, P99, Min, Max int64
	Starts                     []int64
	Screenshots                []int64 // lateness read from screenshots
}

// publish starts ffmpeg reading time-coded frames from a pipe, and returns
// how to stop it.
func publish(ctx context.Context, url string, w, h, gop int, bitrate string, zerolatency bool) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "gray", "-s", fmt.Sprintf("%dx%d", w, h), "-r", "30", "-i", "pipe:0",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "veryfast", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop),
		"-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate, "-pix_fmt", "yuv420p"}
	if zerolatency {
		args = append(args, "-tune", "zerolatency")
	}
	args = append(args, "-c:a", "aac", "-b:a", "96k", "-flush_packets", "1", "-f", "flv", url)
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to start ffmpeg: %w", err)
	}
	go func() {
		_, err := timecode.Write(ctx, in, w, h, 30, time.Now)
		if err != nil && !errors.Is(err, io.ErrClosedPipe) && ctx.Err() == nil {
			log.Printf("writing frames: %v", err)
		}
		in.Close()
	}()
	return func() {
		cancel()
		_ = cmd.Wait()
	}, nil
}

// measure plays the page for warmup, reads frames for duration, then times
// fresh loads.
func measure(ctx context.Context, chromium, url string, warmup, duration time.Duration, starts, shots int) (result, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: timecode.Probe}); err != nil {
		return result{}, fmt.Errorf("failed to start Chromium: %w", err)
	}
	var res result
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		return res, err
	}
	if err := waitFirstFrame(tab, time.Minute); err != nil {
		return res, err
	}
	time.Sleep(warmup)
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`window.__timecode.samples = []; window.__timecode.unread = 0`)); err != nil {
		return res, err
	}
	time.Sleep(duration)
	late, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`window.__timecode.samples.map((s) => s.late)`))
	if err != nil {
		return res, err
	}
	unread, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.__timecode.unread`))
	if err != nil {
		return res, err
	}
	if len(late) == 0 {
		return res, errors.New("no time-coded frame was shown")
	}
	ms := make([]int64, len(late))
	for i, l := range late {
		ms[i] = int64(math.Round(l))
	}
	slices.Sort(ms)
	res.Frames, res.Unread = len(ms), unread
	res.Median, res.P90, res.P99 = quantile(ms, 0.5), quantile(ms, 0.9), quantile(ms, 0.99)
	res.Min, res.Max = ms[0], ms[len(ms)-1]

	for range shots {
		if late, ok := screenshotLate(tab); ok {
			res.Screenshots = append(res.Screenshots, late)
		}
	}

	for range starts {
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			return res, err
		}
		if err := waitFirstFrame(tab, 30*time.Second); err != nil {
			return res, err
		}
		first, err := chromedp.Run(tab, chromedp.Evaluate[float64](`window.__timecode.first - performance.timeOrigin`))
		if err != nil {
			return res, err
		}
		res.Starts = append(res.Starts, int64(math.Round(first)))
	}
	return res, nil
}

func waitFirstFrame(tab context.Context, timeout time.Duration) error {
	err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](`window.__timecode && window.__timecode.first > 0`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		state, _ := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify((() => {
			const v = document.querySelector('video'), tc = window.__timecode || {};
			return { video: !!v, readyState: v && v.readyState, paused: v && v.paused, size: v && [v.videoWidth, v.videoHeight],
				time: v && v.currentTime, unread: tc.unread, samples: tc.samples && tc.samples.length, page: document.body.innerText.slice(0, 300) };
		})())`))
		return fmt.Errorf("no time-coded frame on the page within %s (%s): %w", timeout, state, err)
	}
	return nil
}

func quantile(sorted []int64, q float64) int64 {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return quantile(s, 0.5)
}

// screenshotLate captures the page and reads the time code off the video as
// the compositor drew it: how late it is at the moment the capture was
// asked for.
func screenshotLate(tab context.Context) (int64, bool) {
	rect, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`(() => {
		const v = document.querySelector('video'), r = v.getBoundingClientRect();
		return [r.x, r.y, r.width / v.videoWidth, r.height / v.videoHeight];
	})()`))
	if err != nil || len(rect) != 4 {
		return 0, false
	}
	asked := time.Now()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		return 0, false
	}
	img, err := decodePNG(png)
	if err != nil {
		return 0, false
	}
	// Sample each block's centre, scaled to where the page drew it.
	gray := make([]byte, timecode.Width*timecode.Height)
	for y := range timecode.Height {
		for x := range timecode.Width {
			px, py := int(rect[0]+float64(x)*rect[2]), int(rect[1]+float64(y)*rect[3])
			r, g, b, _ := img.At(px, py).RGBA()
			gray[y*timecode.Width+x] = byte((r + g + b) / 3 >> 8)
		}
	}
	code, ok := timecode.Read(gray, timecode.Width, timecode.Height)
	if !ok {
		return 0, false
	}
	return asked.UnixMilli() - code, true
}

func decodePNG(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
