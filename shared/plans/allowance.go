package plans

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
)

// Allowance is how much of one metric an account may use per billing
// period. It has one of three shapes, in the API and in the table:
//
//	1000                              a limit: at most 1000 per period; a
//	                                  record past it is refused (429
//	                                  usage_limit_reached)
//	{"usageBased": true, "limit": 200} usage-based: counted, never refused,
//	                                  billed by use; limit (default 0) is the
//	                                  amount included, the rest is overage
//	{"unlimited": true}               unlimited: counted, never refused, no
//	                                  limit and no overage
//
// The object form also takes a plain limit ({"limit": 1000}). A shape that
// cannot be read is kept as a problem and reported by Validate as a field
// error (422), so that bad input names its field rather than failing the
// whole body.
type Allowance struct {
	Limit      int64
	Unlimited  bool
	UsageBased bool
	problem    string
}

// Limited reports whether records past Limit are refused.
func (a Allowance) Limited() bool { return !a.Unlimited && !a.UsageBased }

// allowanceObject is the object form, in JSON and in the table.
type allowanceObject struct {
	Limit      *int64 `json:"limit,omitempty" dynamodbav:"limit,omitempty"`
	UsageBased bool   `json:"usageBased,omitempty" dynamodbav:"usageBased,omitempty"`
	Unlimited  bool   `json:"unlimited,omitempty" dynamodbav:"unlimited,omitempty"`
}

// MarshalJSON writes a plain limit as a number, the other shapes as objects.
func (a Allowance) MarshalJSON() ([]byte, error) {
	switch {
	case a.Unlimited:
		return json.Marshal(allowanceObject{Unlimited: true})
	case a.UsageBased:
		limit := a.Limit
		return json.Marshal(allowanceObject{UsageBased: true, Limit: &limit})
	default:
		return json.Marshal(a.Limit)
	}
}

// UnmarshalJSON reads a number or an object; anything else becomes a problem
// for Validate, not a decoding error.
func (a *Allowance) UnmarshalJSON(b []byte) error {
	*a = Allowance{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var o allowanceObject
		if err := dec.Decode(&o); err != nil {
			a.problem = "invalid_allowance"
			return nil
		}
		if o.Limit == nil && !o.UsageBased && !o.Unlimited {
			a.problem = "invalid_allowance"
			return nil
		}
		a.UsageBased, a.Unlimited = o.UsageBased, o.Unlimited
		if o.Limit != nil {
			a.Limit = *o.Limit
			if o.Unlimited {
				a.problem = "conflicting"
			}
		}
		if o.Unlimited && o.UsageBased {
			a.problem = "conflicting"
		}
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			a.problem = "out_of_range"
			return nil
		}
		a.Limit = n
	default:
		a.problem = "invalid_allowance"
	}
	return nil
}

// MarshalDynamoDBAttributeValue stores a plain limit as a number, the other
// shapes as a map.
func (a Allowance) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	if a.Limited() {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(a.Limit, 10)}, nil
	}
	limit := a.Limit
	return attributevalue.Marshal(allowanceObject{Limit: &limit, UsageBased: a.UsageBased, Unlimited: a.Unlimited})
}

// UnmarshalDynamoDBAttributeValue reads both stored forms (plans written
// before the shapes existed hold plain numbers).
func (a *Allowance) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	*a = Allowance{}
	switch v := av.(type) {
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("allowance %q: %w", v.Value, err)
		}
		a.Limit = n
		return nil
	case *types.AttributeValueMemberM:
		var o allowanceObject
		if err := attributevalue.Unmarshal(v, &o); err != nil {
			return err
		}
		if o.Limit != nil {
			a.Limit = *o.Limit
		}
		a.UsageBased, a.Unlimited = o.UsageBased, o.Unlimited
		return nil
	default:
		return fmt.Errorf("allowance: unexpected attribute %T", av)
	}
}

// Built-in metrics. A tenant adds its own billing unit (e.g. "invoices") by
// giving it an allowance in a plan or an override.
const (
	MetricTasks    = "tasks"
	MetricWebhooks = "webhooks"
)

// MaxMetrics bounds the metrics of one account, so a period's counters stay
// one small item.
const MaxMetrics = 20

var metricName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`) }) // compiled on first use, not at init

// ValidMetric reports whether name can be a metric: lower-case letters,
// digits, '-' and '_', starting with a letter, at most 40 characters.
func ValidMetric(name string) bool { return metricName().MatchString(name) }

// ValidateAllowance checks one allowance's shape and range under field.
func ValidateAllowance(f *apperr.Fields, field string, a Allowance) {
	switch a.problem {
	case "":
	case "conflicting":
		f.Check(false, field, "conflicting_allowance", "an allowance is a limit, usage-based (with an optional included limit) or unlimited (without a limit), not several")
		return
	case "out_of_range":
		f.Check(false, field, "out_of_range", fmt.Sprintf("a limit is a whole number from 0 to %d", MaxLimit))
		return
	default:
		f.Check(false, field, "invalid_allowance", `an allowance is a number, {"usageBased": true} (optionally with "limit": the amount included) or {"unlimited": true}`)
		return
	}
	f.Check(a.Limit >= 0 && a.Limit <= MaxLimit, field, "out_of_range", fmt.Sprintf("a limit is a whole number from 0 to %d", MaxLimit))
}
