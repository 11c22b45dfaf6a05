package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/givelive/givelive/api"
)

// TestLogsHoldNoSecrets exercises every endpoint that handles a secret,
// including failures, then searches the captured logs for each secret.
func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t, func(c *api.Config) {
		c.WebSocket = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
		})
	})
	npID := e.nonprofit(t, true)
	_, bToken := e.broadcaster(t, "B")
	_, otherToken := e.broadcaster(t, "Other")
	viewer := e.viewer(t, "Ada")
	f := e.fundraiser(t, bToken, npID)

	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID+"/ingest", bToken, nil).want(t, 200)
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID+"/ingest", otherToken, nil).want(t, 403)
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID, viewer, nil).want(t, 200)
	e.do(t, "GET", "/ws?token="+viewer, "", nil).want(t, 400)
	e.do(t, "POST", "/api/v1/fundraisers", bToken, `{"title":"`+f.StreamKey+`"`).want(t, 400)
	forged := "glb_" + strings.Repeat("A", 43)
	e.do(t, "POST", "/api/v1/fundraisers", forged, map[string]any{}).want(t, 401)
	e.store.setPanic("GetFundraiser")
	e.do(t, "GET", "/api/v1/fundraisers/"+f.ID+"/ingest", bToken, nil).want(t, 500)
	e.store.setPanic("")
	e.clock.Advance(48 * time.Hour)
	e.do(t, "POST", "/api/v1/nonprofits", viewer, map[string]any{}).want(t, 401)
	e.do(t, "POST", "/api/v1/fundraisers/"+f.ID+"/end", bToken, nil).want(t, 200)

	logs := e.logs.String()
	if !strings.Contains(logs, "/api/v1/fundraisers/"+f.ID+"/ingest") {
		t.Fatalf("the requests were not logged at all:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"admin token":        adminToken,
		"broadcaster token":  bToken,
		"other broadcaster":  otherToken,
		"forged token":       forged,
		"viewer token":       viewer,
		"viewer token's sig": viewer[strings.LastIndexByte(viewer, '.')+1:],
		"stream key":         f.StreamKey,
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain the %s", name)
		}
	}
}
