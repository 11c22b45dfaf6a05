package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/client/apiclient"
)

// restClient is the little of the REST API a load test needs (PROTOCOL.md
// section 6), through the SDK's API client: sessions, and the admin and
// broadcaster calls that create fundraisers; and the /metrics scrape. Safe
// for concurrent use.
type restClient struct {
	base string // e.g. http://127.0.0.1:8080
	http *http.Client
	api  *client.API
}

// restRetries bounds the retries of a call answered 429 or 503: sessions
// for many chatters meet the server's per-IP limit.
const restRetries = 8

func newRESTClient(target *url.URL) (*restClient, error) {
	hc := &http.Client{Timeout: 15 * time.Second, Transport: newTransport(nil, nil)}
	api, err := client.NewAPI(target.String(), &client.APIOptions{HTTPClient: hc, Retries: restRetries})
	if err != nil {
		return nil, err
	}
	return &restClient{base: target.String(), http: hc, api: api}, nil
}

// createRooms creates a verified nonprofit, a broadcaster and n fundraisers,
// and returns the fundraiser ids (the rooms). run names them.
func (c *restClient) createRooms(ctx context.Context, adminToken, run string, n int) ([]string, error) {
	admin := c.api.WithToken(adminToken)
	np, err := admin.CreateNonprofit(ctx, client.NonprofitRequest{
		Name: "Load test " + run, RegistrationId: "LT-" + run, Country: "US",
	})
	if err != nil {
		return nil, err
	}
	if _, err := admin.VerifyNonprofit(ctx, np.Id); err != nil {
		return nil, err
	}
	bc, err := admin.CreateBroadcaster(ctx, "Load test "+run)
	if err != nil {
		return nil, err
	}
	host := c.api.WithToken(bc.Token)
	rooms := make([]string, n)
	for i := range rooms {
		f, err := host.CreateFundraiser(ctx, client.FundraiserRequest{
			Title:       fmt.Sprintf("Load test %s room %d", run, i+1),
			NonprofitId: np.Id,
			Goal:        apiclient.Goal{Amount: 100_000_00, Currency: "USD"},
		})
		if err != nil {
			return nil, err
		}
		rooms[i] = f.Id
	}
	return rooms, nil
}

// fundraiser reads a fundraiser's snapshot (failing unless it exists).
func (c *restClient) fundraiser(ctx context.Context, id string) (*client.Snapshot, error) {
	return c.api.Fundraiser(ctx, id)
}

// createSession returns a viewer token for a new identity called name.
func (c *restClient) createSession(ctx context.Context, name string) (string, error) {
	s, err := c.api.CreateSession(ctx, name)
	if err != nil {
		return "", err
	}
	return s.Token, nil
}

// metrics returns the target's /metrics text.
func (c *restClient) metrics(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to scrape /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to scrape /metrics: %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

func (c *restClient) close() { c.http.CloseIdleConnections() }
