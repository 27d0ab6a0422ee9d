package spec

import (
	"slices"
	"strings"
	"testing"
)

// TestLoad_notifications holds settings.notifications to its rules, with
// file:line:col, and never echoes a URL's secrets or a secret_env value.
func TestLoad_notifications(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown key with a suggestion",
			yaml: "  - {name: a, url: https://h.example/x, evnts: [blocked]}\n",
			want: []string{`a.yaml:3:41: unknown key "evnts" in notification; did you mean "events"?`},
		},
		{
			name: "missing url and name",
			yaml: "  - {events: [blocked]}\n",
			want: []string{`a.yaml:3:5: notification has no name`, `a.yaml:3:5: notification has no url`},
		},
		{
			name: "scheme",
			yaml: "  - {name: a, url: \"ftp://user:hunter2@h.example/x\"}\n",
			want: []string{`a.yaml:3:20: url must be http or https, not "ftp"`},
		},
		{
			name: "no host",
			yaml: "  - {name: a, url: \"https:///hook?token=hunter2\"}\n",
			want: []string{`a.yaml:3:20: url has no host; want http(s)://host/path`},
		},
		{
			name: "fragment",
			yaml: "  - {name: a, url: \"https://user:hunter2@h.example/x#frag\"}\n",
			want: []string{`a.yaml:3:20: url https://h.example… must not have a fragment`},
		},
		{
			name: "unknown event",
			yaml: "  - {name: a, url: https://h.example/x, events: [blocked, recoverd]}\n",
			want: []string{`a.yaml:3:59: unknown event "recoverd"; did you mean "recovered"?`},
		},
		{
			name: "no events",
			yaml: "  - {name: a, url: https://h.example/x, events: []}\n",
			want: []string{`a.yaml:3:49: events must list at least one of blocked, failed, recovered, completed, outage, outage-over, manifest-invalid (leave it out for all of them)`},
		},
		{
			name: "format",
			yaml: "  - {name: a, url: https://h.example/x, format: slak}\n",
			want: []string{`a.yaml:3:49: unknown format "slak"; did you mean "slack"?`},
		},
		{
			name: "a secret in secret_env",
			yaml: "  - {name: a, url: https://h.example/x, secret_env: \"s3cr3t-value!\"}\n",
			want: []string{`a.yaml:3:53: secret_env must name an environment variable (such as LEDGERFORM_WEBHOOK_SECRET: letters, digits and '_'), never hold the secret itself`},
		},
		{
			name: "names unique",
			yaml: "  - {name: a, url: https://h.example/x}\n  - {name: a, url: https://h.example/y}\n",
			want: []string{`a.yaml:4:5: notification name "a" is already used at a.yaml:3:5`},
		},
		{
			name: "not a list",
			yaml: "    name: a\n",
			want: []string{`a.yaml:3:5: notifications must be a list of mappings, not a mapping`},
		},
		{
			name: "a URL where the list goes",
			yaml: "    https://bot:hunter2@h.example/hook\n",
			want: []string{`a.yaml:3:5: notifications must be a list of mappings, not a string`},
		},
		{
			name: "a URL where an entry goes",
			yaml: "  - https://bot:hunter2@h.example/hook\n",
			want: []string{`a.yaml:3:5: a notification must be a mapping with name, url and events, not a string`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := loadTree(t, tree{"a.yaml": "settings:\n  notifications:\n" + tt.yaml})
			if err == nil {
				t.Fatal("Load succeeded; want errors")
			}
			got := errorLines(t, err, dir)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cr3t") {
				t.Errorf("an error shows a secret: %s", msg)
			}
		})
	}
}

func TestLoad_notificationsValid(t *testing.T) {
	set, _, err := loadTree(t, tree{"a.yaml": `settings:
  notifications:
    - name: ops
      url: https://hooks.example.com/services/T000/B000/XXXX
      events: [recovered, blocked, blocked]
      format: slack
      secret_env: LEDGERFORM_HOOK_SECRET
    - name: all
      url: http://127.0.0.1:9999/hook
reports: []
`})
	if err != nil {
		t.Fatal(err)
	}
	ns := set.Settings.Notifications
	if len(ns) != 2 {
		t.Fatalf("notifications = %+v, want 2", ns)
	}
	if got, want := ns[0].Events, []string{"blocked", "recovered"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q (sorted as documented, no repeats)", got, want)
	}
	if ns[0].Format != "slack" || ns[0].SecretEnv != "LEDGERFORM_HOOK_SECRET" || ns[0].Pos.Line != 3 {
		t.Errorf("first notification = %+v", ns[0])
	}
	if !slices.Equal(ns[1].Events, NotifyEvents) || ns[1].Format != "json" {
		t.Errorf("defaults = %+v, want every event and json", ns[1])
	}
	if got := RedactURL(ns[0].URL); got != "https://hooks.example.com" {
		t.Errorf("RedactURL = %q", got)
	}
}
