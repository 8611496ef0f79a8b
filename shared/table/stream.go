package table

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StreamView is what the table's stream carries of each written item: its
// new image only. The publish-events function reads it to turn every
// change-log entry, written in the transaction of its change, into one
// event; nothing else needs the stream, and no old images are needed.
const StreamView = types.StreamViewTypeNewImage

// EnableStreamInput turns the stream on. Locally only what reads it turns
// it on (make dev, the publish-events tests): CreateTableInput leaves it
// off, so the other tests' tables keep no stream records.
func (d Definition) EnableStreamInput(name string) *dynamodb.UpdateTableInput {
	return &dynamodb.UpdateTableInput{TableName: aws.String(name), StreamSpecification: &types.StreamSpecification{
		StreamEnabled: aws.Bool(true), StreamViewType: StreamView,
	}}
}

// TenantOf is the tenant id every key starts with ("T#<tenant>#..."), for
// readers that have an item but not the tenant (the stream).
func TenantOf(pk string) (string, bool) {
	rest, ok := strings.CutPrefix(pk, "T#")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "#")
	return id, id != ""
}
