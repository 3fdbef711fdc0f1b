module github.com/condure-go/condure

go 1.26.0

require golang.org/x/sys v0.50.0

require github.com/pebbe/zmq4 v1.4.0

require github.com/klauspost/compress v1.20.5

require golang.org/x/crypto v0.59.0

require golang.org/x/net v0.63.0

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_golang v1.25.0
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
