package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"

	"github.com/givelive/givelive/internal/timecode"
)

// publishAV1 has ffmpeg encode time-coded frames with SVT-AV1 (low-delay
// prediction, no lookahead) into IVF on a pipe, and publishes each
// temporal unit as it comes with gortmplib's client, over Enhanced RTMP
// (FourCC av01). It returns how to stop.
func publishAV1(ctx context.Context, rtmpURL string, w, h, gop int) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "gray", "-s", fmt.Sprintf("%dx%d", w, h), "-r", "30", "-i", "pipe:0",
		"-c:v", "libsvtav1", "-preset", "12", "-g", strconv.Itoa(gop), "-svtav1-params", "pred-struct=1:lookahead=0",
		"-pix_fmt", "yuv420p", "-f", "ivf", "pipe:1")
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), "SVT_LOG=1") // SVT-AV1's own log: errors only
	in, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	// rtmp://host/live/KEY: gortmplib takes the key as the URL's fragment.
	i := strings.LastIndexByte(rtmpURL, '/')
	u, err := url.Parse(rtmpURL[:i] + "#" + rtmpURL[i+1:])
	if err != nil || i < 0 {
		cancel()
		return nil, fmt.Errorf("-rtmp %q: want rtmp://HOST/live/KEY", rtmpURL)
	}
	client := &gortmplib.Client{URL: u, Publish: true}
	if err := client.Initialize(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("failed to publish: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		client.Close()
		return nil, fmt.Errorf("failed to start ffmpeg: %w", err)
	}
	go func() {
		_, err := timecode.Write(ctx, in, w, h, 30, time.Now)
		if err != nil && ctx.Err() == nil {
			log.Printf("writing frames: %v", err)
		}
		in.Close()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := relayIVF(out, client); err != nil && ctx.Err() == nil {
			log.Printf("publishing AV1: %v", err)
		}
	}()
	return func() {
		cancel()
		client.Close()
		_ = cmd.Wait()
		<-done
	}, nil
}

// relayIVF publishes the AV1 temporal units of an IVF stream as they
// arrive.
func relayIVF(r io.Reader, client *gortmplib.Client) error {
	hdr := make([]byte, 32)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return err
	}
	if string(hdr[:4]) != "DKIF" {
		return errors.New("ffmpeg did not write IVF")
	}
	den, num := binary.LittleEndian.Uint32(hdr[16:20]), binary.LittleEndian.Uint32(hdr[20:24])
	if skip := int(binary.LittleEndian.Uint16(hdr[6:8])) - 32; skip > 0 {
		if _, err := io.CopyN(io.Discard, r, int64(skip)); err != nil {
			return err
		}
	}
	track := &gortmplib.Track{Codec: &codecs.AV1{}}
	w := &gortmplib.Writer{Conn: client, Tracks: []*gortmplib.Track{track}}
	if err := w.Initialize(); err != nil {
		return err
	}
	fh := make([]byte, 12)
	for {
		if _, err := io.ReadFull(r, fh); err != nil {
			return err
		}
		size := binary.LittleEndian.Uint32(fh[:4])
		ts := int64(binary.LittleEndian.Uint64(fh[4:12]))
		if size > 16<<20 {
			return fmt.Errorf("an IVF frame of %d bytes", size)
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		var tu av1.Bitstream
		if err := tu.Unmarshal(frame); err != nil {
			return err
		}
		pts := time.Duration(ts) * time.Second * time.Duration(num) / time.Duration(den)
		if err := w.WriteAV1(track, pts, tu); err != nil {
			return err
		}
	}
}
