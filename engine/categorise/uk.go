package categorise

import (
	_ "embed"
	"sync"
)

// UKTreeVersion is the version of the engine's UK category tree, reported
// as category_tree_version. It changes whenever uk_tree.txt changes.
const UKTreeVersion = "uk_202611230000"

var (
	//go:embed uk_tree.txt
	ukTreeText string
	//go:embed uk.rules
	ukRulesText string
)

// UK returns the categoriser of the engine's UK tree and rules. The data
// files are compiled on first use; an error in them is a bug of the build,
// reported by the package's tests, so UK panics on it.
var UK = sync.OnceValue(func() *Categoriser {
	tree, err := ParseTree("uk", UKTreeVersion, ukTreeText)
	if err != nil {
		panic("categorise: uk_tree.txt: " + err.Error())
	}
	rs, err := ParseRules(ukRulesText)
	if err != nil {
		panic("categorise: uk.rules: " + err.Error())
	}
	c, err := New(tree, rs)
	if err != nil {
		panic("categorise: uk.rules: " + err.Error())
	}
	return c
})
