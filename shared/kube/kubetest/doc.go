// Package kubetest holds what the tests of the kube packages share: a
// pod builder, a fake cluster (client-go's fake clientset with reactors
// for logs, access reviews and identity), a rich pod with the objects
// around it, and a tar reader for bundles. Only tests import it.
//
// It imports only shared/kube, so that the tests of every other kube
// package can use it.
package kubetest
