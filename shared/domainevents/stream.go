package domainevents

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/changelog"
)

// StreamFilter says which stream records reach publish-events. The CDK
// stack deploys it as the event source mapping's filter (Pattern) and the
// local stack applies it to DynamoDB Local's stream (Matches), so both feed
// the function the same records.
type StreamFilter struct {
	EventNames []string // INSERT: an entry is written once and never changed
	ItemTypes  []string // the type attribute of the new image
}

// ChangeLogInserts is the filter of publish-events: new change-log entries
// of accounts and of tenants; every other item of the table is left out.
var ChangeLogInserts = StreamFilter{EventNames: []string{"INSERT"}, ItemTypes: []string{itemAccountEntry, itemTenantEntry}}

// Pattern is the filter as a Lambda event filtering pattern.
func (f StreamFilter) Pattern() map[string]any {
	return map[string]any{
		"eventName": f.EventNames,
		"dynamodb": map[string]any{"NewImage": map[string]any{
			"type": map[string]any{"S": f.ItemTypes},
		}},
	}
}

// Matches reports whether a record passes the filter, as Lambda decides it.
func (f StreamFilter) Matches(r events.DynamoDBEventRecord) bool {
	if !slices.Contains(f.EventNames, r.EventName) {
		return false
	}
	t, ok := r.Change.NewImage["type"]
	return ok && t.DataType() == events.DataTypeString && slices.Contains(f.ItemTypes, t.String())
}

// EntryOf decodes a stream record's new image as a change-log entry.
func EntryOf(r events.DynamoDBEventRecord) (changelog.Entry, error) {
	item := make(map[string]ddbtypes.AttributeValue, len(r.Change.NewImage))
	for k, v := range r.Change.NewImage {
		av, err := sdkValue(v)
		if err != nil {
			return changelog.Entry{}, fmt.Errorf("record %s: attribute %s: %w", r.EventID, k, err)
		}
		item[k] = av
	}
	var e changelog.Entry
	if err := attributevalue.UnmarshalMap(item, &e); err != nil {
		return changelog.Entry{}, fmt.Errorf("record %s: decode entry: %w", r.EventID, err)
	}
	return e, nil
}

// sdkValue converts the Lambda event's attribute value to the SDK's.
func sdkValue(v events.DynamoDBAttributeValue) (ddbtypes.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &ddbtypes.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &ddbtypes.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &ddbtypes.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &ddbtypes.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &ddbtypes.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &ddbtypes.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &ddbtypes.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &ddbtypes.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		var out []ddbtypes.AttributeValue
		for _, e := range v.List() {
			av, err := sdkValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, av)
		}
		return &ddbtypes.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		out := map[string]ddbtypes.AttributeValue{}
		for k, e := range v.Map() {
			av, err := sdkValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = av
		}
		return &ddbtypes.AttributeValueMemberM{Value: out}, nil
	}
	raw, _ := json.Marshal(v)
	return nil, fmt.Errorf("unknown attribute value %s", raw)
}
