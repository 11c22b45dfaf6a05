// Package auth issues and checks GiveLive's three kinds of bearer token:
//
//   - the admin token, configured by the operator (GIVELIVE_ADMIN_TOKEN) and
//     compared in constant time;
//   - broadcaster tokens, "glb_" and 32 random bytes in base64url, of which
//     the ledger keeps only the SHA-256 hash;
//   - viewer tokens, HS256 JWTs signed with a key kept in the ledger
//     (store.Secret "jwt-hs256"), so every node sharing a ledger accepts the
//     tokens of every other.
//
// Entry points: New builds a Service; Service.Authenticate turns any token
// into a Principal or an error wrapping ErrInvalidToken; Service.Require,
// Service.Optional and RequireOwner are Echo middleware that answer 401 and
// 403; FromContext reads the Principal they store.
//
// Concurrency: a Service is immutable after New and safe for concurrent use.
package auth
