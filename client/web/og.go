package web

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// A fundraiser's link preview image, /og/{id}.png: 1200×630 (the size
// Open Graph and Twitter cards show), with its title, who raises for whom,
// the goal bar and the amount raised, and LIVE while video arrives. Drawn
// in Go with the Go fonts, so it needs nothing installed.

const (
	ogWidth, ogHeight = 1200, 630
	imageTTL          = time.Minute // a preview may lag the total by this much
	maxImages         = 256
)

// imageCache keeps drawn previews for imageTTL, keyed by what they show.
type imageCache struct {
	fonts func() (*ogFonts, error)

	mu      sync.Mutex
	entries map[string]cachedImage
}

type cachedImage struct {
	png []byte
	at  time.Time
}

type ogFonts struct {
	title, big, text, small font.Face
}

func newImageCache() *imageCache {
	return &imageCache{entries: map[string]cachedImage{}, fonts: sync.OnceValues(loadFonts)}
}

func loadFonts() (*ogFonts, error) {
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	face := func(f *opentype.Font, size float64) (font.Face, error) {
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	var fs ogFonts
	if fs.title, err = face(bold, 64); err != nil {
		return nil, err
	}
	if fs.big, err = face(bold, 44); err != nil {
		return nil, err
	}
	if fs.text, err = face(regular, 34); err != nil {
		return nil, err
	}
	if fs.small, err = face(bold, 30); err != nil {
		return nil, err
	}
	return &fs, nil
}

func (h *Handler) serveImage(w http.ResponseWriter, r *http.Request, id string) {
	if h.catalog == nil {
		h.notFound(w, r, "Page not found", "")
		return
	}
	pv, err := h.catalog.Preview(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		h.notFound(w, r, "There is no fundraiser here", "")
		return
	}
	if err != nil {
		h.log.Warn("link preview image unavailable", "fundraiser", id, "err", err)
		http.Error(w, "the preview is unavailable; try again", http.StatusServiceUnavailable)
		return
	}
	img, err := h.images.get(id, pv)
	if err != nil {
		h.log.Error("failed to draw a link preview", "fundraiser", id, "err", err)
		http.Error(w, "the preview could not be drawn", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "image/png")
	hdr.Set("Cache-Control", "public, max-age=60")
	hdr.Set("ETag", etag(img))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
}

func (c *imageCache) get(id string, pv Preview) ([]byte, error) {
	key := fmt.Sprintf("%s\x00%+v", id, pv)
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < imageTTL {
		return e.png, nil
	}
	fonts, err := c.fonts()
	if err != nil {
		return nil, fmt.Errorf("failed to load fonts: %w", err)
	}
	img, err := drawPreview(fonts, pv)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxImages {
		for k, e := range c.entries {
			if now.Sub(e.at) >= imageTTL || len(c.entries) >= maxImages {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = cachedImage{png: img, at: now}
	return img, nil
}

var (
	ogDark   = color.RGBA{0x0a, 0x3b, 0x2c, 0xff}
	ogLight  = color.RGBA{0x0f, 0x7a, 0x55, 0xff}
	ogWhite  = color.RGBA{0xff, 0xff, 0xff, 0xff}
	ogSoft   = color.RGBA{0xd8, 0xf3, 0xe8, 0xff}
	ogTrack  = color.RGBA{0x06, 0x26, 0x1c, 0xff}
	ogFill   = color.RGBA{0x7c, 0xf0, 0xb8, 0xff}
	ogLiveBg = color.RGBA{0xd9, 0x30, 0x25, 0xff}
)

// drawPreview draws the card.
func drawPreview(f *ogFonts, pv Preview) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, ogWidth, ogHeight))
	// A diagonal gradient, dark to light green.
	for y := range ogHeight {
		for x := range ogWidth {
			t := float64(x+y) / float64(ogWidth+ogHeight)
			img.SetRGBA(x, y, color.RGBA{mix(ogDark.R, ogLight.R, t), mix(ogDark.G, ogLight.G, t), mix(ogDark.B, ogLight.B, t), 0xff})
		}
	}
	const margin = 72
	text(img, f.big, ogWhite, margin, 110, "GiveLive")
	if pv.Live {
		w := font.MeasureString(f.small, "● LIVE").Ceil()
		x := ogWidth - margin - w - 40
		fillRect(img, image.Rect(x, 66, ogWidth-margin, 124), ogLiveBg)
		text(img, f.small, ogWhite, x+20, 106, "● LIVE")
	} else if pv.Status == "ended" {
		w := font.MeasureString(f.small, "Ended").Ceil()
		text(img, f.small, ogSoft, ogWidth-margin-w, 106, "Ended")
	}
	lines := wrap(f.title, pv.Title, ogWidth-2*margin, 2)
	y := 230
	for _, l := range lines {
		text(img, f.title, ogWhite, margin, y, l)
		y += 76
	}
	who := wrap(f.text, fmt.Sprintf("%s for %s", pv.Broadcaster, pv.Nonprofit), ogWidth-2*margin, 1)
	text(img, f.text, ogSoft, margin, y+4, who[0])

	// The goal bar and the amount.
	bar := image.Rect(margin, 470, ogWidth-margin, 500)
	fillRect(img, bar, ogTrack)
	fill := bar
	fill.Max.X = bar.Min.X + bar.Dx()*max(0, min(100, pv.Percent))/100
	fillRect(img, fill, ogFill)
	amount := fmt.Sprintf("%s raised of %s", pv.Raised, pv.Goal)
	if pv.Donors > 0 {
		amount += fmt.Sprintf(" · %d %s", pv.Donors, plural(pv.Donors, "donor", "donors"))
	}
	text(img, f.big, ogWhite, margin, 566, wrap(f.big, amount, ogWidth-2*margin, 1)[0])

	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&out, img); err != nil {
		return nil, fmt.Errorf("failed to encode the preview: %w", err)
	}
	return out.Bytes(), nil
}

func mix(a, b uint8, t float64) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*t) }

func fillRect(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func text(img *image.RGBA, face font.Face, c color.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// wrap breaks s into at most n lines of at most width pixels, ending the
// last with "…" when s does not fit.
func wrap(face font.Face, s string, width, n int) []string {
	fits := func(l string) bool { return font.MeasureString(face, l).Ceil() <= width }
	words := strings.Fields(s)
	var lines []string
	cur := ""
	for i, w := range words {
		next := strings.TrimSpace(cur + " " + w)
		if cur == "" || fits(next) {
			cur = next
			continue
		}
		if len(lines) == n-1 {
			rest := strings.Join(append([]string{cur}, words[i:]...), " ")
			return append(lines, ellipsize(face, rest, width))
		}
		lines = append(lines, ellipsize(face, cur, width))
		cur = w
	}
	return append(lines, ellipsize(face, cur, width))
}

func ellipsize(face font.Face, s string, width int) string {
	if font.MeasureString(face, s).Ceil() <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && font.MeasureString(face, string(r)+"…").Ceil() > width {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "…"
}
