// Package e2eimage holds the programs of the test images the real-cluster
// scenarios (hack/e2e) run: a pause program for the pod sandbox, a stand-in
// for Linkerd's proxy that answers every connection with the original
// destination it reads with SO_ORIGINAL_DST, and a plain app. They live in
// the root module because the stand-in needs internal/origdst; hack/e2e
// builds them with `go -C <root> build` and packs each into a FROM scratch
// image. Nothing here is part of the product.
package e2eimage
