package nordigen

import (
	"fmt"
	"log/slog"
)

// redacted is what a secret prints as.
const redacted = "[redacted]"

// A Secret is a client secret or an access token. It prints as
// "[redacted]" through fmt (every verb), slog, encoding/json and
// encoding.TextMarshaler, so that it cannot reach a log line, an error
// message or a state file by accident; Reveal returns the value for the one
// place that sends it.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s} }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Format prints [redacted] whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) { f.Write([]byte(redacted)) }

// String returns [redacted].
func (s Secret) String() string { return redacted }

// GoString returns [redacted].
func (s Secret) GoString() string { return redacted }

// LogValue returns [redacted].
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns [redacted].
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
