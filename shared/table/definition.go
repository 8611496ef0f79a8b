// Package table describes the one DynamoDB table: its schema (used both to
// create the local table and by the CDK stack) and, in keys.go, every key the
// service builds, each beside the access pattern it serves.
package table

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names shared by every item.
const (
	AttrPK      = "PK"
	AttrSK      = "SK"
	AttrType    = "type"    // the entity type of an item: USER, SESSION, ...
	AttrVersion = "version" // optimistic concurrency counter on mutable items
	AttrTTL     = "ttl"     // epoch seconds; clean-up only, never enforcement
)

// Projection says which attributes an index copies.
type Projection string

const (
	ProjectAll      Projection = "ALL"
	ProjectKeysOnly Projection = "KEYS_ONLY"
)

// Index is one global secondary index; all key attributes are strings.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
	Projection   Projection
	Purpose      string
}

// Definition is the table's shape.
type Definition struct {
	PartitionKey string
	SortKey      string
	Indexes      []Index
	TTLAttribute string
}

// Index key attributes: the partition and sort key of each GSI, carried
// only by the items an index lists.
const (
	AttrGSI1PK = "GSI1PK"
	AttrGSI1SK = "GSI1SK"
	AttrGSI2PK = "GSI2PK"
	AttrGSI2SK = "GSI2SK"
	AttrGSI3PK = "GSI3PK"
	AttrGSI3SK = "GSI3SK"
	AttrGSI4PK = "GSI4PK"
	AttrGSI4SK = "GSI4SK"
	AttrGSI5PK = "GSI5PK"
	AttrGSI5SK = "GSI5SK"
)

// Index names.
const (
	GSI1 = "GSI1"
	GSI2 = "GSI2"
	GSI3 = "GSI3"
	GSI4 = "GSI4"
	GSI5 = "GSI5"
)

// Schema is the single source of truth for the table's keys, indexes and TTL.
var Schema = Definition{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	TTLAttribute: AttrTTL,
	Indexes: []Index{
		{Name: GSI1, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK, Projection: ProjectAll,
			Purpose: "inverted relations: a user's memberships and sessions, invitations of an account by status"},
		{Name: GSI2, PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK, Projection: ProjectAll,
			Purpose: "ordered directories: users by email, accounts by name, an account's users (members, pending invitations) by email"},
		{Name: GSI3, PartitionKey: AttrGSI3PK, SortKey: AttrGSI3SK, Projection: ProjectKeysOnly,
			Purpose: "sparse due index for scheduled jobs, bucketed by day (only items still due carry it); and each account's admin memberships (only those holding Admin and a licence carry it)"},
		{Name: GSI4, PartitionKey: AttrGSI4PK, SortKey: AttrGSI4SK, Projection: ProjectAll,
			Purpose: "an account's users (members and pending invitations) by last-first name"},
		{Name: GSI5, PartitionKey: AttrGSI5PK, SortKey: AttrGSI5SK, Projection: ProjectAll,
			Purpose: "an account's named members by first-last name, for name search"},
	},
}

// CreateTableInput is the CreateTable request for a table of this shape,
// on-demand. Used by the local stack and the tests; the CDK stack builds the
// same shape from Schema.
func (d Definition) CreateTableInput(name string) *dynamodb.CreateTableInput {
	attrs := []types.AttributeDefinition{
		{AttributeName: aws.String(d.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(d.SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, ix := range d.Indexes {
		attrs = append(attrs,
			types.AttributeDefinition{AttributeName: aws.String(ix.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: aws.String(ix.SortKey), AttributeType: types.ScalarAttributeTypeS})
		gsis = append(gsis, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionType(ix.Projection)},
		})
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attrs,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(d.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(d.SortKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: gsis,
	}
}

// TimeToLiveInput turns on TTL clean-up for the table.
func (d Definition) TimeToLiveInput(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(d.TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}
}
