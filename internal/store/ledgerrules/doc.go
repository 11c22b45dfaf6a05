// Package ledgerrules holds the backend-independent rules of the ledger
// (package store) that every backend (internal/store/sqlite,
// internal/store/postgres) applies the same way: record IDs, the checks on
// new donations and fundraisers, the status moves, the donor-list entries,
// the milestone amounts, and the data of the events the ledger writes to
// its outbox.
//
// Entry points: NewID and the ID prefixes; CheckNewDonation and
// NewDonationRecord; StatusTransition and CanSettle; DonorKey and
// DonorName; NormalizeMilestones and MilestoneAmount; GenerateSecret; and
// the event data constructors DonationData, MilestoneData, FundraiserData,
// RefundedData and Total.
//
// Nothing here touches a database: backends keep their SQL, transactions
// and locking, and call these functions for what those must decide or
// build.
//
// Concurrency: every function is safe to call from many goroutines.
package ledgerrules
