// Package fsview keeps the merged view of a container image's layers: which
// paths exist after each layer is applied, and which layer's entry each
// one comes from. It holds one small node per path and never any content.
//
// Deleting a directory (a whiteout) or hiding its contents (an opaque
// directory) detaches a subtree in one step, so hostile images with many
// whiteouts cost time in proportion to what they delete, not to the
// size of the image.
package fsview
