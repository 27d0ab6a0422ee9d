package spec

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// NotifyEvents are the events a notification may ask for, in the order
// the docs list them (see the package doc, settings.notifications).
var NotifyEvents = []string{"blocked", "failed", "recovered", "completed", "outage", "outage-over", "manifest-invalid"}

// NotifyFormats are the bodies a notifier can send.
var NotifyFormats = []string{"json", "slack"}

// Notification is one webhook of settings.notifications: where the
// daemon (ledgerform watch) sends which events, in what format, signed
// with the secret in which environment variable.
type Notification struct {
	Name   string
	URL    string   // http or https with a host; may hold credentials, which are never shown
	Events []string // a subset of NotifyEvents, in that order; all of them when not written
	Format string   // "json" (the default) or "slack"
	// SecretEnv names the environment variable that holds the HMAC key;
	// "" for unsigned requests. The secret itself is never in a manifest.
	SecretEnv string
	Pos       Pos
}

var (
	notificationKeys     = []string{"name", "url", "events", "format", "secret_env"}
	notificationRequired = []string{"name", "url"}
	envNameRE            = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// RedactURL returns the scheme and host of a URL, the only parts of a
// notification's URL that may be shown: its credentials, path and query
// may hold a token (a Slack webhook's path does).
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(an unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// notifications decodes settings.notifications.
//
// Its values hold webhook URLs, which may carry credentials: a value of
// the wrong kind is named by its kind alone, never quoted (d.list and
// d.mapping would quote a scalar).
func (d *decoder) notifications(v *yaml.Node) []Notification {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v, "notifications must be a list of mappings, not %s", kindOnly(v))
		return nil
	}
	items, ok := d.list(v, "notifications")
	if !ok {
		return nil
	}
	var out []Notification
	names := map[string]Pos{}
	for _, item := range items {
		n, ok := d.notification(item)
		if !ok {
			continue
		}
		if first, dup := names[n.Name]; dup {
			d.errorf(item, "notification name %q is already used at %s", n.Name, first)
			continue
		}
		names[n.Name] = n.Pos
		out = append(out, n)
	}
	return out
}

// notification decodes one entry; ok is false when it has errors.
func (d *decoder) notification(item *yaml.Node) (n Notification, ok bool) {
	if item.Kind != yaml.MappingNode {
		d.errorf(item, "a notification must be a mapping with name, url and events, not %s", kindOnly(item))
		return Notification{}, false
	}
	before := d.n
	n = Notification{Format: "json", Pos: d.pos(item)}
	seen := map[string]bool{}
	var eventsSet bool
	isMap := d.mapping(item, "notification", notificationKeys, func(key string, k, v *yaml.Node) {
		seen[key] = true
		if d.null(k, v, notificationRequired) {
			return
		}
		switch key {
		case "name":
			if s, ok := d.str(v, "name"); ok {
				if !nameRE.MatchString(s) {
					d.errorf(v, "invalid notification name %q: a name is 1 to 100 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit", clip(s))
					return
				}
				n.Name = s
			}
		case "url":
			// The value is never echoed: it may hold a token.
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
				d.errorf(v, "url must be a string, not %s", kindOnly(v))
				return
			}
			if msg := checkNotifyURL(v.Value); msg != "" {
				d.errorf(v, "%s", msg)
				return
			}
			n.URL = v.Value
		case "events":
			eventsSet = true
			n.Events = d.events(v)
		case "format":
			if s, ok := d.str(v, "format"); ok {
				if !slices.Contains(NotifyFormats, s) {
					d.errorf(v, "unknown format %q%s", clip(s), suggest(s, NotifyFormats, "the formats are"))
					return
				}
				n.Format = s
			}
		case "secret_env":
			// Not echoed either: a secret pasted here by mistake must not
			// reach the log.
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || !envNameRE.MatchString(v.Value) {
				d.errorf(v, "secret_env must name an environment variable (such as LEDGERFORM_WEBHOOK_SECRET: letters, digits and '_'), never hold the secret itself")
				return
			}
			n.SecretEnv = v.Value
		}
	})
	if !isMap {
		return n, false
	}
	d.required(item, "notification", n.Name, seen, notificationRequired)
	if !eventsSet {
		n.Events = slices.Clone(NotifyEvents)
	}
	return n, d.n == before
}

// events decodes a non-empty list of event names, stored in the order of
// NotifyEvents without repeats.
func (d *decoder) events(v *yaml.Node) []string {
	items, ok := d.list(v, "events")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(v, "events must list at least one of %s (leave it out for all of them)", strings.Join(NotifyEvents, ", "))
		return nil
	}
	want := map[string]bool{}
	for _, item := range items {
		s, ok := d.str(item, "an event")
		if !ok {
			continue
		}
		if !slices.Contains(NotifyEvents, s) {
			d.errorf(item, "unknown event %q%s", clip(s), suggest(s, NotifyEvents, "the events are"))
			continue
		}
		want[s] = true
	}
	var out []string
	for _, e := range NotifyEvents {
		if want[e] {
			out = append(out, e)
		}
	}
	return out
}

// checkNotifyURL returns what is wrong with a notification's URL, or "",
// without repeating any of it but its scheme and host.
func checkNotifyURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "":
		return "url is not a URL; want http(s)://host/path"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("url must be http or https, not %q", clip(u.Scheme))
	case u.Host == "" || u.Hostname() == "":
		return "url has no host; want http(s)://host/path"
	case u.Fragment != "":
		return fmt.Sprintf("url %s… must not have a fragment", RedactURL(s))
	}
	return ""
}

// kindOnly describes n without its value.
func kindOnly(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return "a string"
	}
	return describe(n)
}
