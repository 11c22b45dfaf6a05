package web

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"strings"
)

// base is the server's public scheme and host for absolute links: the
// configured public URL, or the request's.
func (h *Handler) base(r *http.Request) string {
	if h.publicURL != "" {
		return h.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// genericHead is a page's title and description.
func (h *Handler) genericHead(_ *http.Request, title, description string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	if description != "" {
		meta(&b, "name", "description", description)
	}
	return b.Bytes()
}

// previewHead is the viewer page's head: its title, and the Open Graph
// and Twitter tags link previews read (they run no script).
func (h *Handler) previewHead(r *http.Request, id string, pv Preview) []byte {
	base := h.base(r)
	title := pv.Title
	if pv.Live {
		title = "🔴 LIVE: " + title
	}
	desc := previewText(pv)
	var b bytes.Buffer
	fmt.Fprintf(&b, "<title>%s · GiveLive</title>\n", html.EscapeString(title))
	meta(&b, "name", "description", desc)
	meta(&b, "property", "og:type", "video.other")
	meta(&b, "property", "og:site_name", "GiveLive")
	meta(&b, "property", "og:title", title)
	meta(&b, "property", "og:description", desc)
	meta(&b, "property", "og:url", base+"/f/"+id)
	meta(&b, "property", "og:image", base+"/og/"+id+".png")
	meta(&b, "property", "og:image:width", "1200")
	meta(&b, "property", "og:image:height", "630")
	meta(&b, "property", "og:image:alt", fmt.Sprintf("%s: %s raised of %s for %s", pv.Title, pv.Raised, pv.Goal, pv.Nonprofit))
	meta(&b, "name", "twitter:card", "summary_large_image")
	meta(&b, "name", "twitter:title", title)
	meta(&b, "name", "twitter:description", desc)
	meta(&b, "name", "twitter:image", base+"/og/"+id+".png")
	return b.Bytes()
}

// previewText says who raises what for whom, in a sentence.
func previewText(pv Preview) string {
	var b strings.Builder
	switch pv.Status {
	case "ended":
		fmt.Fprintf(&b, "%s raised %s for %s", pv.Broadcaster, pv.Raised, pv.Nonprofit)
		if pv.Donors > 0 {
			fmt.Fprintf(&b, " from %d %s", pv.Donors, plural(pv.Donors, "donor", "donors"))
		}
		b.WriteString(". Thank you!")
	default:
		fmt.Fprintf(&b, "%s is raising money for %s: %s of %s raised", pv.Broadcaster, pv.Nonprofit, pv.Raised, pv.Goal)
		if pv.Donors > 0 {
			fmt.Fprintf(&b, " by %d %s", pv.Donors, plural(pv.Donors, "donor", "donors"))
		}
		if pv.Live {
			b.WriteString(". Live now: watch and give.")
		} else {
			b.WriteString(". Watch and give on GiveLive.")
		}
	}
	return b.String()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func meta(b *bytes.Buffer, attr, name, content string) {
	fmt.Fprintf(b, "<meta %s=\"%s\" content=\"%s\">\n", attr, html.EscapeString(name), html.EscapeString(content))
}
