package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// donationsInFlight bounds the donation POSTs waiting for an answer.
const donationsInFlight = 256

// donor posts the load test's donations: cfg.DonationRate per second over
// all rooms, round robin, each with its own idempotency key and a message
// carrying its send time, which viewers read back to measure the time from
// the POST to their receipt.
type donor struct {
	r        *runner
	currency map[string]string // room → the fundraiser's currency

	sent, accepted, failed atomic.Int64

	mu   sync.Mutex
	post *hdrhistogram.Histogram // POST round trips
}

// donationPrefix starts every load-test donation message; the Unix time
// in nanoseconds at sending follows it (the same shape as chats).
const donationPrefix = chatPrefix

func newDonor(ctx context.Context, r *runner) (*donor, error) {
	d := &donor{r: r, currency: make(map[string]string), post: newHistogram()}
	for _, room := range r.rooms {
		f, err := r.rest.fundraiser(ctx, room)
		if err != nil {
			return nil, fmt.Errorf("failed to read fundraiser %s: %w", room, err)
		}
		d.currency[room] = string(f.Goal.Currency)
	}
	return d, nil
}

// run posts donations until ctx ends, then waits for the answers.
func (d *donor) run(ctx context.Context) {
	interval := time.Duration(float64(time.Second) / d.r.cfg.DonationRate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	sem := make(chan struct{}, donationsInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			d.r.errs.add("donation_backlog") // the server answers slower than the rate
			continue
		}
		room := d.r.rooms[n%len(d.r.rooms)]
		key := fmt.Sprintf("lt-%d-%d", d.r.started, n)
		wg.Go(func() {
			defer func() { <-sem }()
			d.give(room, key)
		})
	}
}

// give posts one donation and records the outcome.
func (d *donor) give(room, key string) {
	start := time.Now()
	body, _ := json.Marshal(map[string]any{
		"amount":   100,
		"currency": d.currency[room],
		"name":     "Load tester",
		"message":  donationPrefix + strconv.FormatInt(start.UnixNano(), 10),
	})
	d.sent.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.r.rest.base+"/api/v1/fundraisers/"+url.PathEscape(room)+"/donations", bytes.NewReader(body))
	if err != nil {
		d.fail("donation_request")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := d.r.rest.http.Do(req)
	if err != nil {
		d.fail("donation_post")
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		d.fail("donation_status_" + strconv.Itoa(resp.StatusCode))
		return
	}
	d.accepted.Add(1)
	d.mu.Lock()
	recordMicros(d.post, time.Since(start))
	d.mu.Unlock()
}

func (d *donor) fail(kind string) {
	d.failed.Add(1)
	if !d.r.stopping.Load() {
		d.r.errs.add(kind)
	}
}

func (d *donor) postQuantiles() Quantiles {
	d.mu.Lock()
	defer d.mu.Unlock()
	return quantiles(d.post)
}
