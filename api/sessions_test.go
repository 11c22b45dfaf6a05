package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestSessionsRememberTheBrowser: POST /sessions sets an HttpOnly cookie
// naming the browser, only for itself; later sessions from the browser
// carry it into the ledger; another browser, or a forged cookie, gets a
// fresh one.
func TestSessionsRememberTheBrowser(t *testing.T) {
	e := newEnv(t)
	newBrowser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	signIn := func(c *http.Client, name string) (string, *http.Response) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"name": name})
		res, err := c.Post(e.ts.URL+"/api/v1/sessions", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var s struct{ User struct{ ID string } }
		if err := json.NewDecoder(res.Body).Decode(&s); err != nil || res.StatusCode != 201 {
			t.Fatalf("POST /sessions: %d %v", res.StatusCode, err)
		}
		sess, err := e.store.GetSession(t.Context(), s.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		return sess.DeviceID, res
	}

	browser := newBrowser()
	first, res := signIn(browser, "Ada")
	ck := res.Header.Get("Set-Cookie")
	for _, want := range []string{"givelive_device=" + first, "Path=/api/v1/sessions", "HttpOnly", "SameSite=Strict", "Max-Age=31536000"} {
		if !strings.Contains(ck, want) {
			t.Errorf("Set-Cookie %q lacks %q", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on plain http", ck)
	}
	if !strings.HasPrefix(first, "dv_") || len(first) != 29 {
		t.Fatalf("device id %q", first)
	}
	if again, _ := signIn(browser, "Not Ada"); again != first {
		t.Errorf("the same browser's next session has device %q, want %q", again, first)
	}
	if other, _ := signIn(newBrowser(), "Bob"); other == first || other == "" {
		t.Errorf("another browser's session has device %q (first %q)", other, first)
	}
	forged := newBrowser()
	u, _ := url.Parse(e.ts.URL + "/api/v1/sessions")
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "givelive_device", Value: "x'; DROP TABLE bans"}})
	if got, _ := signIn(forged, "Eve"); got == "x'; DROP TABLE bans" || !strings.HasPrefix(got, "dv_") {
		t.Errorf("a malformed cookie was kept: %q", got)
	}
	// The cookie goes nowhere else.
	res2, err := browser.Get(e.ts.URL + "/api/v1/nonprofits")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.Request.Header.Get("Cookie") != "" {
		t.Errorf("the device cookie was sent to %s", res2.Request.URL.Path)
	}
}
