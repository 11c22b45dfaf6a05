// Package demo seeds a ledger with something to look at, for
// `givelive serve --demo`: a verified nonprofit, a broadcaster with a token,
// and a scheduled fundraiser with a goal.
//
// Entry points: Seed creates the records once per ledger and returns their
// ids on every later start; Info.Print tells a person how to use them.
//
// Concurrency: Seed is safe to call from several processes sharing a
// ledger; at most one set of records is kept (another process's concurrent
// first run may leave an unused set behind).
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/store"
)

// secretName is the ledger secret holding the seed's ids and the demo
// broadcaster's token, so a restart finds the same records.
const secretName = "demo-seed"

// The demo records.
const (
	nonprofitName   = "Clean Water Demo Trust"
	registrationID  = "DEMO-0001"
	country         = "GB"
	broadcasterName = "Demo Broadcaster"
	fundraiserTitle = "Demo stream for clean water"
	goalAmount      = 500_000 // 5,000.00
	goalCurrency    = "USD"
)

// Info is what Seed created.
type Info struct {
	NonprofitID      string `json:"nonprofit_id"`
	BroadcasterID    string `json:"broadcaster_id"`
	BroadcasterToken string `json:"broadcaster_token"`
	FundraiserID     string `json:"fundraiser_id"`
}

// Seed creates the demo records the first time it runs on a ledger and
// returns the same Info on every later run. The broadcaster's token is kept
// in plain text in the ledger's secrets: this is for demos only.
func Seed(ctx context.Context, st store.Store, a *auth.Service) (Info, error) {
	if st == nil || a == nil {
		return Info{}, errors.New("failed to seed demo: nil store or auth service")
	}
	// The ledger runs gen outside any transaction and only on first use,
	// so gen may write records of its own.
	raw, err := st.Secret(ctx, secretName, func() ([]byte, error) {
		info, err := create(ctx, st, a)
		if err != nil {
			return nil, err
		}
		return json.Marshal(info)
	})
	if err != nil {
		return Info{}, fmt.Errorf("failed to seed demo: %w", err)
	}
	var info Info
	if err := json.Unmarshal(raw, &info); err != nil {
		return Info{}, fmt.Errorf("failed to read demo seed: %w", err)
	}
	if info.FundraiserID == "" || info.BroadcasterToken == "" {
		return Info{}, errors.New("failed to read demo seed: incomplete record")
	}
	return info, nil
}

// create writes the records: a nonprofit, verified; a broadcaster; its
// fundraiser.
func create(ctx context.Context, st store.Store, a *auth.Service) (Info, error) {
	np, err := st.CreateNonprofit(ctx, store.NewNonprofit{Name: nonprofitName, RegistrationID: registrationID, Country: country})
	if err != nil {
		return Info{}, err
	}
	if _, err := st.VerifyNonprofit(ctx, np.ID); err != nil {
		return Info{}, err
	}
	b, token, err := a.CreateBroadcaster(ctx, broadcasterName)
	if err != nil {
		return Info{}, err
	}
	key, err := auth.NewStreamKey()
	if err != nil {
		return Info{}, err
	}
	f, err := st.CreateFundraiser(ctx, store.NewFundraiser{
		BroadcasterID: b.ID,
		NonprofitID:   np.ID,
		Title:         fundraiserTitle,
		GoalAmount:    goalAmount,
		Currency:      goalCurrency,
		StreamKey:     key,
	})
	if err != nil {
		return Info{}, err
	}
	return Info{NonprofitID: np.ID, BroadcasterID: b.ID, BroadcasterToken: token, FundraiserID: f.ID}, nil
}

// Print writes a short guide to the demo: ids, the broadcaster token and
// copy-paste commands to watch, join, chat and go live. ingestURL is the
// RTMP publish URL (rtmp://host:port/live). The stream key itself is not
// printed: the go-live commands fetch it with the broadcaster token.
func (i Info) Print(w io.Writer, baseURL, ingestURL string) {
	base := strings.TrimRight(baseURL, "/")
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	api := base + "/api/v1"
	subscribe := fmt.Sprintf(`{"op":"subscribe","id":1,"room":"%s"}`, i.FundraiserID)
	// A guide on a terminal: a failed write has nowhere better to go.
	_, _ = fmt.Fprintf(w, `
GiveLive demo
  nonprofit          %[1]s (verified)
  broadcaster        %[2]s
  broadcaster token  %[3]s
  fundraiser         %[4]s (goal 5,000.00 USD)

Watch
  snapshot   curl -s %[5]s/fundraisers/%[4]s
  live       echo '%[6]s' | websocat -n --protocol givelive.v1 %[7]s
  video      ffplay %[8]s/hls/%[4]s/index.m3u8   (HLS, once live; Safari and VLC play it too)
  web page   %[8]s/f/%[4]s   (the viewer page: video, chat, donations)
  studio     %[8]s/studio   (sign in with the broadcaster token)
  overlay    %[8]s/overlay/%[4]s   (an OBS browser source for donation alerts)

Join as a viewer
  curl -s -X POST %[5]s/sessions -H 'Content-Type: application/json' -d '{"name":"Ada"}'

Go live: OBS (Settings > Stream: Service Custom, Server %[9]s, Stream Key from the first command)
or ffmpeg with a test pattern:
  KEY=$(curl -s %[5]s/fundraisers/%[4]s/ingest -H 'Authorization: Bearer %[3]s' | sed -E 's/.*"stream_key":"([^"]+)".*/\1/')
  ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv %[9]s/$KEY

`, i.NonprofitID, i.BroadcasterID, i.BroadcasterToken, i.FundraiserID, api, subscribe, wsURL, base, strings.TrimRight(ingestURL, "/"))
}
