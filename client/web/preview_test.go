package web

import (
	"context"
	"errors"
	"image/png"
	"strings"
	"testing"
)

type fakeCatalog map[string]Preview

func (c fakeCatalog) Preview(_ context.Context, id string) (Preview, error) {
	if id == "f_broken" {
		return Preview{}, errors.New("ledger down")
	}
	p, ok := c[id]
	if !ok {
		return Preview{}, ErrNotFound
	}
	return p, nil
}

var catalogOf = fakeCatalog{
	"f_live": {Title: `Cats & "Dogs" <3`, Broadcaster: "Ada", Nonprofit: "Shelter Fund", Raised: "$1,250.00", Goal: "$5,000.00",
		Percent: 25, Donors: 12, Status: "live", Live: true},
	"f_done": {Title: "Bake sale", Broadcaster: "Bo", Nonprofit: "Food Bank", Raised: "$900.00", Goal: "$500.00",
		Percent: 100, Donors: 1, Status: "ended"},
}

// TestLinkPreviews: /f/{id} carries Open Graph and Twitter tags in its
// HTML (previews run no script), escaped, with absolute URLs; an unknown
// id answers the 404 page; a ledger that fails still serves the page.
func TestLinkPreviews(t *testing.T) {
	h := New(Options{Assets: built, Catalog: catalogOf, PublicURL: "https://live.example.org/"})
	page := body(t, get(t, h, "GET", "/f/f_live"))
	for _, want := range []string{
		`<meta property="og:title" content="🔴 LIVE: Cats &amp; &#34;Dogs&#34; &lt;3">`,
		`<meta property="og:description" content="Ada is raising money for Shelter Fund: $1,250.00 of $5,000.00 raised by 12 donors. Live now: watch and give.">`,
		`<meta property="og:url" content="https://live.example.org/f/f_live">`,
		`<meta property="og:image" content="https://live.example.org/og/f_live.png">`,
		`<meta name="twitter:card" content="summary_large_image">`,
		`<meta name="twitter:image" content="https://live.example.org/og/f_live.png">`,
		`<title>🔴 LIVE: Cats &amp; &#34;Dogs&#34; &lt;3 · GiveLive</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the viewer page lacks %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, `"Dogs" <3`) {
		t.Error("the title went into the HTML unescaped")
	}
	ended := body(t, get(t, h, "GET", "/f/f_done"))
	if !strings.Contains(ended, `content="Bo raised $900.00 for Food Bank from 1 donor. Thank you!"`) {
		t.Errorf("the ended fundraiser's description:\n%s", ended)
	}
	if res := get(t, h, "GET", "/f/f_missing"); res.StatusCode != 404 || !strings.Contains(body(t, res), "There is no fundraiser here") {
		t.Errorf("an unknown fundraiser: %d", res.StatusCode)
	}
	if res := get(t, h, "GET", "/f/f_broken"); res.StatusCode != 200 || !strings.Contains(body(t, res), `data-page="viewer"`) {
		t.Errorf("a ledger error: %d, want the page without preview tags", res.StatusCode)
	}
	// Without a public URL, links come from the request's host.
	h2 := New(Options{Assets: built, Catalog: catalogOf})
	if p := body(t, get(t, h2, "GET", "/f/f_live")); !strings.Contains(p, `content="http://example.test:8080/og/f_live.png"`) {
		t.Errorf("the image URL from the request's host:\n%s", p)
	}
}

// TestPreviewImage: /og/{id}.png is a 1200×630 PNG, cacheable for a minute.
func TestPreviewImage(t *testing.T) {
	h := New(Options{Assets: built, Catalog: catalogOf})
	for _, id := range []string{"f_live", "f_done"} {
		res := get(t, h, "GET", "/og/"+id+".png")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || res.Header.Get("Cache-Control") != "public, max-age=60" {
			t.Fatalf("GET /og/%s.png: %d %v", id, res.StatusCode, res.Header)
		}
		img, err := png.Decode(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 630 {
			t.Fatalf("image %v, want 1200×630", b)
		}
	}
	if res := get(t, h, "GET", "/og/f_missing.png"); res.StatusCode != 404 {
		t.Fatalf("an unknown fundraiser's image: %d", res.StatusCode)
	}
}

// TestPageCSP: each page may do what it needs and no more: the studio
// frames the app's own overlays (its preview), overlays may be framed by
// the app and show a streamer's https image and sound, other pages none.
func TestPageCSP(t *testing.T) {
	h := New(Options{Assets: built})
	for target, want := range map[string][]string{
		"/studio":       {"frame-src 'self';", "frame-ancestors 'none'", "img-src 'self' data: blob:;"},
		"/overlay/f_1":  {"frame-ancestors 'self'", "img-src 'self' data: blob: https:;", "media-src 'self' blob: https:;", "frame-src 'none';"},
		"/f/f_1":        {"frame-ancestors 'none'", "frame-src 'none';", "media-src 'self' blob:;"},
		"/":             {"frame-ancestors 'none'"},
		"/d/d_1":        {"frame-ancestors 'none'"},
		"/missing/page": {"default-src 'none'", "style-src 'self'"},
	} {
		csp := get(t, h, "GET", target).Header.Get("Content-Security-Policy")
		for _, w := range want {
			if !strings.Contains(csp, w) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, w)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	fonts, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("fundraiser ", 30)
	lines := wrap(fonts.title, long, 1056, 2)
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "…") {
		t.Fatalf("a long title: %q", lines)
	}
	if got := wrap(fonts.title, "Short", 1056, 2); len(got) != 1 || got[0] != "Short" {
		t.Fatalf("a short title: %q", got)
	}
}
