// Package spec reads the manifests of a directory into the desired state:
// strict YAML decoding, validation with file:line:col, glob and drop-folder
// expansion, and normalisation. It touches neither the network nor the state.
package spec
