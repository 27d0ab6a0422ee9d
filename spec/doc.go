// Package spec reads the manifests of a directory into the desired state:
// strict YAML decoding, validation with file:line:col, glob and drop-folder
// expansion, and normalisation. It touches neither the network nor the state.
//
// # Files
//
// Load reads every file directly in the working directory whose name ends
// in ".yaml" or ".yml" (IsManifest); subdirectories are not searched, and
// hidden or temporary names (".*", "*~", "*.tmp", "*.part", "*.swp"; see
// IsTemporary) are ignored. A directory without manifests is an empty
// Set. Each manifest:
//
//   - is at most 1 MiB, checked before parsing;
//   - is UTF-8 (a byte order mark is allowed) with only the characters
//     YAML allows; the first offending byte is reported with its position;
//   - holds exactly one YAML document. A second document ("---") is an
//     error, and so is a file with no document at all (zero bytes, only
//     blank lines or comments, or only "---" or "~"): a half-saved file
//     must never read as "nothing is desired". Write "reports: []" to
//     declare nothing; "{}" is accepted too;
//   - has no anchors or aliases (which also rules out alias bombs and
//     the "<<" merge key).
//
// A panic of the YAML parser is recovered and reported against the file.
//
// # Format
//
//	settings:                  # optional; at most one manifest has it
//	  endpoint: embedded       # or an http(s) URL with a host
//	  parallelism: 8           # 1 to 1024
//	  prune: false
//	  rate_limit: 20           # requests per second; default none
//	  notifications:           # optional; the daemon's webhooks (ledgerform watch)
//	    - name: ops
//	      url: https://hooks.example.com/ledgerform
//	      events: [blocked, failed, recovered]   # optional; default all seven
//	      format: json         # optional; json (default) or slack
//	      secret_env: LEDGERFORM_HOOK_SECRET     # optional; signs each request
//	reports:
//	  - name: alex-watson-2019-08
//	    statements: [statements/alex-2019-08.json, statements/more-*.json]
//	    operations: [categorisation, insights-income, simple-score]
//	    country: uk
//	    params: {period: 6, currency: GBP}   # optional
//	    output: out/alex-watson-2019-08.json # optional; default out/NAME.json
//	    suspend: false         # optional; true leaves the report alone
//	    html: true             # optional; default settings.html
//	drops:
//	  - name: inbox
//	    dir: inbox
//	    pattern: "*.json"      # optional; default "*.json"
//	    operations: [categorisation]
//	    country: uk
//	    params: {period: 3}    # optional
//	    output_dir: out/inbox  # optional; default out/NAME
//	    suspend: false         # optional; true leaves every file's report alone
//
// Decoding is strict at every level, params included: an unknown key (with
// a suggestion when it looks like a typo), a repeated key, a value of the
// wrong type and a missing required key are errors. Scalars are typed by
// YAML's own rules: parallelism: "8" is a string, not a number; prune:
// yes is a string, not a boolean (only true and false are). Where a
// string is expected, numbers and dates are taken as written (name: 2019
// is the name "2019"), but booleans and null are refused. A key whose
// value is null (written "key:" or "key: ~") is as if absent: fine for an
// optional key, an error ("has no value") for a required one. A blank
// settings, reports or drops is as if absent.
//
// Fields:
//
//   - settings.endpoint: "embedded", or an http or https URL with a host
//     and no credentials, query or fragment. Credentials never go in a
//     manifest (NORDIGEN_CLIENT_ID, NORDIGEN_CLIENT_SECRET).
//   - settings.parallelism: a whole number from 1 to 1024.
//   - settings.rate_limit: requests per second the API client may send,
//     all workers together, a number from 0 to 100000 (decimals allowed:
//     0.5 is one request every two seconds). Unset or 0 is no client-side
//     limit: the client slows down only when the API answers 429, so the
//     default never throttles a run the API itself does not.
//   - settings.notifications: a list of webhooks that ledgerform watch
//     tells of its events (package notify says how they are delivered).
//     Each has a name (required; the rules of a report's name, unique in
//     the list), a url (required: http or https with a host, no fragment;
//     it may hold a token or credentials, so no error, log line or
//     /status ever shows more of it than its scheme and host), events (a
//     non-empty subset of blocked, failed, recovered, completed, outage,
//     outage-over and manifest-invalid, stored in that order without
//     repeats; all of them when left out), format (json, the default, or
//     slack) and secret_env (the name of an environment variable, letters,
//     digits and '_', that holds the key of an HMAC-SHA256 signature of
//     each body; never the secret itself, and a value that does not look
//     like a name is refused without being repeated). Only ledgerform
//     watch reads them; apply and plan ignore them.
//   - name (required): 1 to 100 characters of a-z, 0-9, '.', '_' and '-',
//     starting with a letter or digit, so that it is safe in an address,
//     a file name and a log line. Names are unique across every manifest,
//     reports and drops together; the second use is the error, and names
//     the first.
//   - operations (required): a non-empty list of the keywords
//     categorisation, insights-income, insights-loans, insights-risk and
//     simple-score. The list is stored sorted and without repeats, so that
//     reordering it changes nothing.
//   - country (required): two letters, stored in lower case. Which
//     countries are supported is the API's business, not the manifest's.
//   - params (optional): period (1 to 1200 months, the engine's limit),
//     currency (three letters, stored in upper case), drop_shared_accounts
//     and drop_joint_accounts (booleans), income_definition and
//     expense_definition (non-empty lists of positive category ids, stored
//     sorted and without repeats). "params: {}" is stored as no params
//     (Report.Params nil), so the two never differ in a plan.
//   - suspend (optional, on a report or a drop): true or false, nothing
//     else (yes, "true" and 1 are errors); false when absent. A suspended
//     report (Report.Suspended; a drop passes it to every file's report)
//     is still planned, so that the plan can say what would be done, but
//     nothing is done to it: nothing is uploaded, retried, resumed,
//     restored, moved or deleted, and no output is pruned. A file that
//     leaves a suspended drop's folder keeps its record and output
//     (Set.Suspended). Removing suspend, or setting it false, lets the
//     pending change through at the next plan. A report removed from the
//     manifests cannot be suspended: it is deleted as any other.
//   - html (optional, in settings, on a report or on a drop): a strict
//     boolean. settings.html is the default of every report and drop; a
//     report's or drop's own html wins (html: false turns the page off for
//     one). A report with html gets an HTML page beside its output
//     (PagePath: out/alex.json -> out/alex.html), written, moved, restored
//     and pruned with it (see package reconcile). Turning html on or off
//     is no new remote work: the page is rendered from the output. A page
//     that would be an output, a statement or another report's page, or
//     that a drop would take for a statement, is an error at the entry
//     (for a dropped file: that file's Problem).
//
// # Paths
//
// Paths are relative to the manifest directory, or absolute. They are
// stored clean and slash-separated, relative to Set.Dir, or absolute when
// written absolute. A relative path must stay in the directory: it may
// not climb out with "..", nor through a symbolic link that exists when
// Load runs (and a broken link on the way is refused). An absolute path
// says the author means it and is not checked. These rules apply to
// statements, glob matches, output, dir and output_dir, defaults
// included, so that a link committed to the repository cannot make
// ledgerform read or write outside it.
//
// A statement containing one of *?[ is a glob (filepath.Match syntax, "**"
// is not special). It must match at least one file: directories are left
// out, and so are matches whose name is temporary or hidden where the glob
// has a wildcard ("s/*.json" skips "s/.a.json"; ".s/a.json" written out
// is taken). A statement without those characters is kept as written,
// cleaned: a file that does not exist is not a manifest error, but the
// reconciler's, for that report alone. Statements keep the order written,
// each glob's matches sorted, the first of any repeats kept.
//
// Outputs are checked across all reports: two reports may not write one
// output, an output may not be a statement of any report, and a report's
// output may not land in a drop's dir under a name the drop would take. A
// drop's output_dir may not be the dir of any drop (its own included).
//
// ledgerform's own files are out of bounds, symbolic links resolved: no
// output, output_dir, drop dir or statement may lead into StateDir
// (".ledgerform", where the state, journal and lock live), no output may
// be a manifest (an existing one, or a name directly in the directory
// that would be read as one), and a drop whose dir is the manifest
// directory may not have a pattern that takes a manifest. An output must
// be writable: not an existing directory, no file where one of its
// directories should be, and a name short enough for the temporary file
// written before it (at most fsutil's MaxNameLen, 239 bytes). A named
// report's output that breaks these rules is an error at its output; a
// dropped file's (a name of 250 bytes, say) is that report's Problem, so
// that one badly named file stops neither Load nor the other reports.
//
// # Drop folders
//
// Every regular file directly in a drop's dir whose name matches pattern
// (filepath.Match against the base name; no "/" in the pattern) and is not
// temporary is one report, built by Drop.Report: address
// drop.NAME["FILE"] with FILE quoted by strconv.Quote, the file as its one
// statement, and output OUTPUT_DIR/FILE. Subdirectories, symbolic links
// (never followed), FIFOs, devices and sockets are skipped. A dir that
// does not exist gives no reports and no error: producers may create it
// later, and the watcher watches for it. A dir that is not a directory,
// or cannot be read, is an error.
//
// # Errors
//
// Load reports every problem it can find in one go, as Errors sorted by
// position; each is "file:line:col: message", the file being
// filepath.Join(dir, name). The paths of a report or drop with a problem of
// its own are still checked, but it is left out of the checks of outputs
// across reports, so that one mistake does not cause a cascade. The YAML parser gives the line but
// not the column of a syntax error, and no line for an error on the first
// line. At most 50 problems are reported per file.
package spec
