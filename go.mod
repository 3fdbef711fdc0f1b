module github.com/condure-go/condure

go 1.26.0

require golang.org/x/sys v0.50.0

require github.com/pebbe/zmq4 v1.4.0

require github.com/klauspost/compress v1.20.5

require golang.org/x/crypto v0.59.0
