package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/config"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/qr"
	"github.com/smdpp/smdpp/smds"
	"github.com/smdpp/smdpp/store"
)

// orderCreate imports a profile package (when its ICCID is new), orders it and confirms it with
// release, through the same orders service ES2+ uses, and prints the activation code.
func orderCreate(ctx context.Context, args []string) error {
	def := config.Default()
	fs := flag.NewFlagSet("smdpp order create", flag.ContinueOnError)
	dataDir := fs.String("data-dir", def.DataDir, "the server's data directory")
	database := fs.String("database", "", "SQLite file or PostgreSQL DSN (default: DATA-DIR/smdpp.db)")
	address := fs.String("address", def.Listen, "the SM-DP+ address devices use (the server's --address)")
	operator := fs.String("operator", "default", "operator that owns the order (created when missing)")
	upp := fs.String("upp", "", "SAIP profile package (DER) to import and order")
	eid := fs.String("eid", "", "bind the order to this EID")
	matchingID := fs.String("matching-id", "", "matchingId (default: generated)")
	code := fs.String("confirmation-code", "", "require this confirmation code")
	smdsAddress := fs.String("smds", "", "register the order's event with this SM-DS (ES12; needs --eid)")
	release := fs.Bool("release", true, "release the order for download at once")
	qrFile := fs.String("qr", "", "also write the activation code as a QR image to this file (.png or .svg)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *upp == "" {
		return errors.New("--upp is required")
	}
	if *database == "" {
		*database = filepath.Join(*dataDir, "smdpp.db")
	}
	pkg, err := os.ReadFile(*upp)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, *database)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.GetOperator(ctx, *operator); errors.Is(err, store.ErrNotFound) {
		if _, err := db.CreateOperator(ctx, store.Operator{ID: *operator, Name: *operator}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	svc := orders.New(db, *address, orders.WithEvents(smds.NewRegistrar(*address)))
	p, err := svc.ImportProfile(ctx, *operator, "", pkg)
	if err != nil {
		return err
	}
	iccid, err := svc.DownloadOrder(ctx, *operator, orders.DownloadOrderRequest{ICCID: p.ICCID, EID: *eid})
	if err != nil {
		return err
	}
	res, err := svc.ConfirmOrder(ctx, *operator, orders.ConfirmOrderRequest{
		ICCID: iccid, EID: *eid, MatchingID: *matchingID, ConfirmationCode: *code, ReleaseFlag: *release, SMDSAddress: *smdsAddress,
	})
	if err != nil {
		return err
	}
	ac := activation.Code{Address: res.SMDPAddress, MatchingID: res.MatchingID, ConfirmationCodeRequired: *code != ""}
	fmt.Printf("iccid %s\nactivation code %s\n", iccid, ac.QRString())
	if *qrFile != "" {
		return writeQR(*qrFile, ac.QRString())
	}
	return nil
}

// writeQR writes text as a QR code, PNG or SVG by the file's extension.
func writeQR(path, text string) error {
	var img []byte
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		img, err = qr.PNG(text, 512)
	case ".svg":
		img, err = qr.SVG(text)
	default:
		return fmt.Errorf("--qr %s: the file must end in .png or .svg", path)
	}
	if err != nil {
		return err
	}
	return os.WriteFile(path, img, 0o644)
}
