package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/givelive/givelive/hub"
	"github.com/givelive/givelive/internal/auth"
	"github.com/givelive/givelive/internal/store"
)

// hubAuth lets the hub accept the API's tokens on /ws.
type hubAuth struct{ tokens *auth.Service }

func (a hubAuth) Authenticate(ctx context.Context, token string) (hub.Identity, error) {
	p, err := a.tokens.Authenticate(ctx, token)
	if err != nil {
		return hub.Identity{}, err
	}
	switch p.Kind {
	case auth.Viewer:
		return hub.Identity{UserID: p.ID, Name: p.Name, ExpiresAt: p.ExpiresAt}, nil
	case auth.Broadcaster:
		return hub.Identity{UserID: p.ID, Name: p.Name, Broadcaster: true, ExpiresAt: p.ExpiresAt}, nil
	case auth.Admin:
		return hub.Identity{UserID: "admin", Name: "GiveLive"}, nil
	default:
		return hub.Identity{}, fmt.Errorf("token of kind %v cannot connect", p.Kind)
	}
}

// roomDirectory tells the hub which rooms exist: one per fundraiser.
type roomDirectory struct{ ledger store.Store }

func (d roomDirectory) Room(ctx context.Context, room string) (hub.RoomInfo, error) {
	f, err := d.ledger.GetFundraiser(ctx, room)
	if errors.Is(err, store.ErrNotFound) {
		return hub.RoomInfo{}, hub.ErrRoomNotFound
	}
	if err != nil {
		return hub.RoomInfo{}, err
	}
	return hub.RoomInfo{OwnerID: f.BroadcasterID}, nil
}

// hubPublisher lets the outbox dispatcher publish to the hub.
type hubPublisher struct{ h *hub.Hub }

func (p hubPublisher) PublishRaw(ctx context.Context, room, typ string, data json.RawMessage) error {
	_, err := p.h.Publish(ctx, room, typ, data)
	return err
}
