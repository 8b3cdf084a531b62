// Package inventory runs the SM-DP+'s profile pools: the "cloud SIM pool" an operator fills
// with personalised profiles and ES2+ DownloadOrder (SGP.22 §5.3.1) draws from by profile type.
//
// # Import
//
// An operator's personalisation input file names, for each profile, the values that distinguish
// it; a template package (a SAIP Unprotected Profile Package, as for [profiles.Parse]) gives
// everything else. [Service.DryRun] checks a whole file and reports every bad row; [Service.Import]
// checks it again and then imports all of it in one database transaction, or nothing.
//
// The CSV form (RFC 4180, UTF-8, comma-separated, lines starting with # ignored) has a header
// record naming the columns, in any order and any letter case:
//
//	iccid,imsi,ki,opc,pin1,puk1,pin2,puk2,adm1,region
//	8944500102198304826,234507654321098,000102030405060708090A0B0C0D0E0F,62E75B8D6FA5BF46EC87A9276F9DF54D,1234,12345678,5678,87654321,0A1B2C3D4E5F6071,eu-west
//
//	iccid   18 to 20 digits, the last being the Luhn check digit (ITU-T E.118)
//	imsi    6 to 15 digits (3GPP TS 23.003)
//	ki      the subscriber key K, 32 hexadecimal digits (16 bytes)
//	opc     OPc, 32 hexadecimal digits (Milenage, 3GPP TS 35.206)
//	pin1    4 to 8 digits; pin2 likewise
//	puk1    8 digits; puk2 likewise
//	adm1    4 to 8 digits, or 16 hexadecimal digits for a binary key
//	region  optional column: the pool's region, up to 64 letters, digits, '.', '_' or '-';
//	        empty for none
//
// Every column but region is required, every value of a required column must be present, and a
// column not listed here is an error (a misspelt "regoin" must not be dropped silently). Values
// are trimmed of surrounding spaces. The row number of an error is the line of the record in the
// file, the header being line 1.
//
// The JSON form carries the same fields as strings, with row numbers counting the profiles from 1:
//
//	{"profiles": [
//	  {"iccid": "8944500102198304826", "imsi": "234507654321098",
//	   "ki": "000102030405060708090A0B0C0D0E0F", "opc": "62E75B8D6FA5BF46EC87A9276F9DF54D",
//	   "pin1": "1234", "puk1": "12345678", "pin2": "5678", "puk2": "87654321",
//	   "adm1": "0A1B2C3D4E5F6071", "region": "eu-west"}
//	]}
//
// A row is also bad when its ICCID or IMSI appears earlier in the file or already in the
// database. The template must hold every place personalisation writes ([profiles.NewTemplate]);
// the profile type is the one given with the import or, when none is, the template header's.
//
// # Pools
//
// A pool is the profiles of one operator, profile type and region ([store.PoolKey]). A pool may
// have a low-water mark: when an allocation leaves fewer Available profiles than the mark, the
// service logs a warning, records a "pool-low" event and calls the LowWaterHook, all once per
// crossing (the store latches the alert; replenishing the pool re-arms it). The allocation path
// calls [Service.OrderPlaced] (or [Service.CheckPoolOf]) after DownloadOrder; [Service.Run] also
// checks every pool periodically. Orders released but never downloaded return to their pool after
// a configurable age ([Service.ReturnStaleReleased]).
//
// # Usage and quality
//
// The audit events the SM-DP+ records (store.Event) are the source of the per-operator usage
// records ([Service.ExportUsage], CSV or JSON for a time range), of the quality figures (per-stage
// success, failure and latency, failures by reason and by EUM) and of the history of an EID.
package inventory
