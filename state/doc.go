// Package state records what ledgerform has done: one Record per report,
// stored durably (snapshot + journal), locked against a second process, and
// versioned. It knows nothing about HTTP.
package state
