// Command hello is the baseline of the cold-start benchmark: the smallest
// aws-lambda-go function, built the same way as ours.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, in map[string]any) (string, error) { return "hello", nil })
}
