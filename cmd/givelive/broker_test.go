package main

import (
	"strings"
	"testing"
)

// Passwords never reach a log line, wherever the URL carries them.
func TestRedactURL(t *testing.T) {
	for _, raw := range []string{
		"postgres://app:s3cret@db:5432/givelive",
		"postgres://app@db/givelive?password=s3cret&sslmode=require",
		"postgres://app@db/givelive?sslpassword=s3cret",
		"redis://:s3cret@redis:6379/0",
		"rediss://user:s3cret@redis:6380",
	} {
		got := redactURL(raw)
		if strings.Contains(got, "s3cret") {
			t.Errorf("redactURL(%q) = %q: the password shows", raw, got)
		}
		if !strings.Contains(got, "db") && !strings.Contains(got, "redis") {
			t.Errorf("redactURL(%q) = %q: the host is gone", raw, got)
		}
	}
	if got := redactURL("postgres://db/givelive?sslmode=require"); !strings.Contains(got, "sslmode=require") {
		t.Errorf("an ordinary parameter was hidden: %q", got)
	}
}
