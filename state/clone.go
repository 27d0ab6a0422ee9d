package state

import "slices"

// clone returns a deep copy of r: nothing reachable from the result is
// shared with r. A field added to Record that holds a pointer, slice or map
// must be copied here; TestClone_deep fails until it is.
func clone(r *Record) Record {
	c := *r
	c.Spec = cloneSpec(r.Spec)
	c.Files = slices.Clone(r.Files)
	if r.LastError != nil {
		e := *r.LastError
		c.LastError = &e
	}
	if r.Output != nil {
		o := *r.Output
		c.Output = &o
	}
	return c
}

func cloneSpec(s Spec) Spec {
	c := s
	c.Statements = slices.Clone(s.Statements)
	c.Operations = slices.Clone(s.Operations)
	c.Params = s.Params.Clone()
	return c
}

// Clone returns a deep copy of r: for a record from View that is to be
// changed.
func (r *Record) Clone() Record { return clone(r) }
