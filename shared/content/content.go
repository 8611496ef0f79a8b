// Package content keeps the content users own (automations, assemblies,
// reports...), which the product registers with this service so that it can
// be reassigned when someone leaves.
//
// An item lives in its account's partition (table.Content) and in its
// owner's GSI1 partition (table.ContentByOwner), so an account's content and
// one owner's content are both a Query. A reassignment (reassign.go) moves
// an owner's items to another member page by page, each page one
// transaction conditioned on the items' current owner.
package content

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Bounds.
const (
	MaxNameRunes    = 200
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Service registers, lists, reads, deletes and reassigns content.
type Service struct {
	Store  *store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Access access.Checker
	// Reassignment tuning; New sets the defaults.
	PageSize int           // items moved per transaction
	Lease    time.Duration // how long a runner owns a job before another may take over
	Settle   time.Duration // pause before a job declares the source empty (the index may lag)
}

// New builds the service.
func New(d service.Deps) *Service {
	return &Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Access: access.Checker{Store: d.Store},
		PageSize: DefaultMovePage, Lease: DefaultLease, Settle: DefaultSettle}
}

// Errors of this package.
var (
	ErrOwnerNotMember = apperr.Validation(apperr.FieldError{Field: "ownerId", Code: "not_a_member",
		Detail: "the owner must be a member of the account"})
	errGuardChanged = errors.New("the owner's reassignment started or ended meanwhile")
)

// Item is one content item.
type Item struct {
	PK          string `dynamodbav:"PK" json:"-"`
	SK          string `dynamodbav:"SK" json:"-"`
	Type        string `dynamodbav:"type" json:"-"`
	ID          string `dynamodbav:"id" json:"id"`
	AccountID   string `dynamodbav:"accountId" json:"accountId"`
	ContentType string `dynamodbav:"contentType" json:"type"`
	Name        string `dynamodbav:"name" json:"name"`
	OwnerID     string `dynamodbav:"ownerId" json:"ownerId"`
	// ReassignedBy is the last reassignment job that moved it (or that
	// registered it for the target while it ran).
	ReassignedBy string    `dynamodbav:"reassignedBy,omitempty" json:"reassignedBy,omitempty"`
	Version      int64     `dynamodbav:"version" json:"version"`
	CreatedAt    time.Time `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt    time.Time `dynamodbav:"updatedAt" json:"updatedAt"`
	GSI1PK       string    `dynamodbav:"GSI1PK" json:"-"`
	GSI1SK       string    `dynamodbav:"GSI1SK" json:"-"`
}

// NewItem fills the keys of a content item.
func NewItem(t table.Tenant, it Item) Item {
	k := t.Content(it.AccountID, it.ID)
	ix := t.ContentByOwner(it.AccountID, it.OwnerID, it.ID)
	it.PK, it.SK, it.Type = k.PK, k.SK, "CONTENT"
	it.GSI1PK, it.GSI1SK = ix.PK, ix.SK
	if it.Version == 0 {
		it.Version = 1
	}
	return it
}

// RegisterRequest is the body of POST /accounts/{accountId}/content.
type RegisterRequest struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	OwnerID string `json:"ownerId"`
}

// RegisterCommand is a validated registration.
type RegisterCommand struct {
	Caller    access.Caller
	AccountID string
	Type      string
	Name      string
	OwnerID   string
}

var contentType = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`) }) // compiled on first use, not at init

// Command validates the request, reporting every bad field at once.
func (r RegisterRequest) Command(c access.Caller, accountID string) (RegisterCommand, error) {
	var f apperr.Fields
	typ, name, owner := strings.TrimSpace(r.Type), strings.TrimSpace(r.Name), strings.TrimSpace(r.OwnerID)
	f.Check(contentType().MatchString(typ), "type", "invalid_type", "type is a lower-case word such as automation, assembly or report")
	f.Check(name != "" && utf8.RuneCountInString(name) <= MaxNameRunes && strings.IndexFunc(name, unicode.IsControl) < 0,
		"name", "invalid_name", fmt.Sprintf("name is 1 to %d characters, without control characters", MaxNameRunes))
	f.Check(ids.Valid(owner), "ownerId", "invalid", "ownerId is a user id")
	if err := f.Err(); err != nil {
		return RegisterCommand{}, err
	}
	return RegisterCommand{Caller: c, AccountID: accountID, Type: typ, Name: name, OwnerID: owner}, nil
}

// Registered is a new item; when its owner's content was being reassigned,
// it was registered for the reassignment's target and says so.
type Registered struct {
	Item
	RequestedOwnerID string `json:"requestedOwnerId,omitempty"` // set when the item went to the target instead
}

// Register stores a content item for an owner who is a member of the
// account, in one transaction with its change-log entry. While the owner's
// content is being reassigned, the item is registered for the target (the
// job counts it as redirected), so no item is left behind by a running job.
func (s *Service) Register(ctx context.Context, cmd RegisterCommand) (Registered, error) {
	t := cmd.Caller.Tenant
	if err := s.Access.Require(ctx, cmd.Caller, access.ManageContent, cmd.AccountID); err != nil {
		return Registered{}, err
	}
	for range 3 {
		var guard runningGuard
		running, err := s.Store.Get(ctx, t.RunningReassignment(cmd.AccountID, cmd.OwnerID), &guard)
		if err != nil {
			return Registered{}, err
		}
		now := s.Clock.Now()
		item := Item{ID: s.IDs.NewID(), AccountID: cmd.AccountID, ContentType: cmd.Type, Name: cmd.Name,
			OwnerID: cmd.OwnerID, CreatedAt: now, UpdatedAt: now}
		out := Registered{}
		guardKey := t.RunningReassignment(cmd.AccountID, cmd.OwnerID)
		guardHolds := store.Check(guardKey, store.NotExists()).OrFail(errGuardChanged)
		after := map[string]any{"type": cmd.Type, "name": cmd.Name, "ownerId": cmd.OwnerID}
		var counted []*store.Write
		if running {
			// The owner's content is being moved: the new item goes to the
			// target directly, and the job counts it.
			item.OwnerID, item.ReassignedBy, out.RequestedOwnerID = guard.TargetID, guard.JobID, cmd.OwnerID
			guardHolds = store.Check(guardKey, store.Is("jobId", guard.JobID)).OrFail(errGuardChanged)
			counted = append(counted, store.Update(t.Reassignment(guard.JobID), expression.Add(expression.Name("redirected"), expression.Value(1))).
				If(store.Is("status", StatusRunning)).OrFail(errGuardChanged))
			after["ownerId"], after["requestedOwnerId"], after["reassignment"] = guard.TargetID, cmd.OwnerID, guard.JobID
		}
		item = NewItem(t, item)
		writes := append([]*store.Write{
			store.Put(item).If(store.NotExists()),
			store.Check(t.Membership(cmd.AccountID, item.OwnerID), store.Exists()).OrFail(ErrOwnerNotMember),
			guardHolds,
		}, counted...)
		entry := changelog.New(t, s.IDs.NewID(), now, cmd.AccountID, changelog.ActorOf(cmd.Caller), "content.registered", "content", item.ID, nil, after)
		err = s.Store.Transact(ctx, "register content in account "+cmd.AccountID, append(writes, entry.Write(), accounts.Open(t, cmd.AccountID))...)
		if errors.Is(err, errGuardChanged) {
			continue
		}
		if err != nil {
			return Registered{}, err
		}
		out.Item = item
		return out, nil
	}
	return Registered{}, apperr.ErrUnavailable
}

// Get reads one item (any member may).
func (s *Service) Get(ctx context.Context, caller access.Caller, accountID, contentID string) (Item, error) {
	if err := s.Access.Require(ctx, caller, access.ReadContent, accountID); err != nil {
		return Item{}, err
	}
	var it Item
	ok, err := s.Store.Get(ctx, caller.Tenant.Content(accountID, contentID), &it)
	if err != nil {
		return Item{}, err
	}
	if !ok {
		return Item{}, apperr.ErrNotFound.Withf("no content %s in account %s", contentID, accountID)
	}
	return it, nil
}

// Delete removes one item, at version ifMatch when given (0: any), in one
// transaction with its change-log entry.
func (s *Service) Delete(ctx context.Context, caller access.Caller, accountID, contentID string, ifMatch int64) error {
	t := caller.Tenant
	if err := s.Access.Require(ctx, caller, access.ManageContent, accountID); err != nil {
		return err
	}
	var it Item
	ok, err := s.Store.Get(ctx, t.Content(accountID, contentID), &it)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.ErrNotFound.Withf("no content %s in account %s", contentID, accountID)
	}
	if ifMatch != 0 && ifMatch != it.Version {
		return apperr.ErrVersionConflict
	}
	now := s.Clock.Now()
	return s.Store.Transact(ctx, "delete content "+contentID,
		store.Delete(t.Content(accountID, contentID)).If(store.AtVersion(it.Version)).OrFail(apperr.ErrVersionConflict),
		changelog.New(t, s.IDs.NewID(), now, accountID, changelog.ActorOf(caller), "content.deleted", "content", contentID,
			map[string]any{"type": it.ContentType, "name": it.Name, "ownerId": it.OwnerID}, nil).Write(),
		accounts.Open(t, accountID))
}

// ListQuery is a validated list request.
type ListQuery struct {
	Caller    access.Caller
	AccountID string
	OwnerID   string // "" for the whole account
	Limit     int32
	Cursor    string
}

// Page is one page of content, oldest first.
type Page struct {
	Items  []Item `json:"items"`
	Cursor string `json:"cursor,omitempty"`
}

// List pages an account's content, or one owner's (any member may).
func (s *Service) List(ctx context.Context, q ListQuery) (Page, error) {
	t := q.Caller.Tenant
	if err := s.Access.Require(ctx, q.Caller, access.ReadContent, q.AccountID); err != nil {
		return Page{}, err
	}
	query := store.Query{Partition: t.Content(q.AccountID, "").PK, SKPrefix: table.ContentPrefix, Limit: q.Limit, Cursor: q.Cursor}
	if q.OwnerID != "" {
		ix := t.ContentByOwner(q.AccountID, q.OwnerID, "")
		query = store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK, Limit: q.Limit, Cursor: q.Cursor}
	}
	p, err := s.Store.QueryPage(ctx, query)
	if err != nil {
		return Page{}, err
	}
	out := Page{Items: []Item{}, Cursor: p.Cursor}
	if err := attributevalue.UnmarshalListOfMaps(p.Items, &out.Items); err != nil {
		return Page{}, apperr.Internal("decode content", err)
	}
	return out, nil
}
