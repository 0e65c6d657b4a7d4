package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ListAll follows a list's pages, 500 items at a time.
func ListAll[T any, L interface{ GetContinue() string }](ctx context.Context, list func(context.Context, metav1.ListOptions) (L, error), opts metav1.ListOptions, items func(L) []T) ([]T, error) {
	opts.Limit = 500
	var out []T
	for {
		l, err := list(ctx, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, items(l)...)
		if l.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = l.GetContinue()
	}
}
