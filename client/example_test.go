package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/givelive/givelive/client"
	"github.com/givelive/givelive/hub/wire"
)

// A viewer follows a fundraiser: the first event is the snapshot to draw
// from, every event after it updates the picture. Reconnects happen
// underneath; after a gap the server could not replay, another snapshot
// comes and the picture is redrawn from it.
func Example() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, "http://localhost:8080", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	sub, err := conn.Subscribe(ctx, "f_0197a0c4d1e87b3a9c5e2f4a6b8d0c1e")
	if err != nil {
		log.Fatal(err)
	}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			log.Fatal(err) // the Conn stopped for good: see client.CloseError
		}
		switch d := ev.Data.(type) {
		case *client.Snapshot:
			fmt.Printf("%s: %d of %d %s raised\n", d.Title, d.Totals.Raised, d.Goal.Amount, d.Goal.Currency)
		case wire.DonationData:
			fmt.Printf("%s gave %d %s, now %d raised\n", d.Name, d.Amount, d.Currency, d.Total.Raised)
		case wire.ChatData:
			fmt.Printf("<%s> %s\n", d.User.Name, d.Text)
		case wire.StreamData:
			fmt.Println("stream is", d.Status)
		}
	}
}

// A viewer with a session chats, and reacts to the protocol's refusals.
func ExampleConn_Chat() {
	ctx := context.Background()
	api, err := client.NewAPI("http://localhost:8080", nil)
	if err != nil {
		log.Fatal(err)
	}
	session, err := api.CreateSession(ctx, "Ada")
	if err != nil {
		log.Fatal(err)
	}
	conn, err := client.Dial(ctx, "http://localhost:8080", &client.Options{Token: session.Token})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	room := "f_0197a0c4d1e87b3a9c5e2f4a6b8d0c1e"
	if _, err := conn.Subscribe(ctx, room); err != nil { // chat needs a subscription
		log.Fatal(err)
	}

	err = conn.Chat(ctx, room, "Good luck!")
	var refused *client.CommandError
	switch {
	case err == nil:
	case errors.As(err, &refused) && (refused.Code == wire.ErrRateLimited || refused.Code == wire.ErrSlowMode):
		fmt.Println("wait a little:", refused.Message)
	case errors.As(err, &refused) && refused.Code == wire.ErrBanned:
		fmt.Println("you were banned from this chat")
	default:
		log.Fatal(err)
	}
}

// A donation is safe to retry: Donate retries transient failures itself
// with the same Idempotency-Key, and a caller who gives up on a timeout can
// try again later with that key without giving twice.
func ExampleAPI_Donate() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	api, err := client.NewAPI("http://localhost:8080", nil)
	if err != nil {
		log.Fatal(err)
	}
	d := client.DonationRequest{
		Amount:         2500, // $25.00
		Currency:       "USD",
		Name:           "Ada",
		Message:        "Keep going!",
		IdempotencyKey: client.NewIdempotencyKey(), // keep it to retry later
	}
	receipt, err := api.Donate(ctx, "f_0197a0c4d1e87b3a9c5e2f4a6b8d0c1e", d)
	var problem *client.APIError
	switch {
	case errors.As(err, &problem) && problem.Status == 422:
		fmt.Println("refused:", problem.Detail)
	case err != nil:
		log.Fatal(err) // retry later with d.IdempotencyKey
	default:
		fmt.Println("donation", receipt.Id, receipt.Status)
	}
}

// OnStateChange tells the application when to show that it is
// reconnecting, and why the Conn stopped.
func ExampleOptions() {
	conn, err := client.Dial(context.Background(), "ws://localhost:8080/ws", &client.Options{
		Logger: slog.Default(),
		OnStateChange: func(s client.State, err error) {
			switch s {
			case client.StateReconnecting:
				fmt.Println("reconnecting:", err)
			case client.StateClosed:
				if err != nil {
					fmt.Println("stopped:", err) // e.g. 4001: get a new token
				}
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
}
