package config

import (
	"strings"
	"testing"
)

func TestStripeSettings(t *testing.T) {
	full := map[string]string{
		"GIVELIVE_PAYMENTS":               "stripe",
		"GIVELIVE_STRIPE_SECRET_KEY":      "sk_test_abc",
		"GIVELIVE_STRIPE_WEBHOOK_SECRET":  "whsec_abc",
		"GIVELIVE_STRIPE_PUBLISHABLE_KEY": "pk_test_abc",
	}
	tests := []struct {
		name    string
		change  map[string]string
		wantErr string // "" means Load succeeds
	}{
		{name: "defaults", change: nil},
		{name: "no publishable key", change: map[string]string{"GIVELIVE_STRIPE_PUBLISHABLE_KEY": ""}, wantErr: "GIVELIVE_STRIPE_PUBLISHABLE_KEY"},
		{name: "a secret key as publishable", change: map[string]string{"GIVELIVE_STRIPE_PUBLISHABLE_KEY": "sk_test_abc"}, wantErr: "never a secret one"},
		{name: "local stand-ins", change: map[string]string{"GIVELIVE_STRIPE_API_URL": "http://127.0.0.1:12111", "GIVELIVE_STRIPE_JS_URL": "http://localhost:9/v3/"}},
		{name: "plain http elsewhere", change: map[string]string{"GIVELIVE_STRIPE_JS_URL": "http://js.example.org/v3/"}, wantErr: "GIVELIVE_STRIPE_JS_URL"},
		{name: "not a URL", change: map[string]string{"GIVELIVE_STRIPE_API_URL": "api.stripe.com"}, wantErr: "GIVELIVE_STRIPE_API_URL"},
		{name: "credentials in the URL", change: map[string]string{"GIVELIVE_STRIPE_API_URL": "https://u:p@api.stripe.com"}, wantErr: "GIVELIVE_STRIPE_API_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range full {
				t.Setenv(k, v)
			}
			for k, v := range tt.change {
				t.Setenv(k, v)
			}
			c, err := Load()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Load = %v, want an error naming %q", err, tt.wantErr)
			case tt.name == "defaults" && (c.StripeAPIURL != "https://api.stripe.com" || c.StripeJSURL != "https://js.stripe.com/v3/"):
				t.Fatalf("defaults %q %q", c.StripeAPIURL, c.StripeJSURL)
			}
			if err != nil && strings.Contains(err.Error(), "sk_test_abc") {
				t.Fatalf("the error shows a secret key: %v", err)
			}
		})
	}
}
