module github.com/ledgerform/ledgerform

go 1.26

require (
	github.com/prometheus/client_golang v1.25.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
