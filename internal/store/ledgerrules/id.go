package ledgerrules

import (
	"encoding/hex"

	"github.com/google/uuid"
)

// ID prefixes name the kind of record an ID belongs to.
const (
	PrefixNonprofit   = "np_"
	PrefixBroadcaster = "b_"
	PrefixFundraiser  = "f_"
	PrefixSession     = "u_"
	PrefixDonation    = "d_"
)

// NewID returns prefix followed by a UUIDv7 as 32 lowercase hex digits.
// UUIDv7 leads with the time in milliseconds, so IDs sort by creation time
// and new rows append to the primary-key index.
func NewID(prefix string) (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	var buf [32]byte
	hex.Encode(buf[:], u[:])
	return prefix + string(buf[:]), nil
}
