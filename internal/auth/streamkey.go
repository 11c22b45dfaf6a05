package auth

import (
	"encoding/base64"
)

const (
	// streamKeyPrefix marks stream keys for people and secret scanners.
	streamKeyPrefix = "sk_"
	// streamKeyBytes is a stream key's entropy.
	streamKeyBytes = 32
)

// NewStreamKey returns a fresh RTMP stream key: "sk_" and 32 random bytes
// in unpadded base64url, safe in an RTMP path. The ledger stores stream keys
// as they are (the ingest looks them up), so they must never be logged or
// shown to anyone but their fundraiser's broadcaster.
func NewStreamKey() (string, error) {
	b, err := randomBytes(streamKeyBytes)
	if err != nil {
		return "", err
	}
	return streamKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}
