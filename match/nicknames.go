package match

import (
	"slices"
	"strings"
)

// nicknameTable lists given names and their common English nicknames and
// variants, one canonical name a line followed by its variants. A variant
// listed under several canonical names keeps the first.
const nicknameTable = `
abigail abby abbie gail
abraham abe bram
adam ade
albert al bert bertie
alexander alex alec sandy xander lex alexandr
alexandra alex alexa sandra sandy lexi
alfred alf alfie fred freddie
alice allie ally
allison allie ally alison
amanda mandy manda
andrew andy drew
angela angie
anthony tony antony
arthur art artie
barbara barb barbie babs
benjamin ben benny benji
bernard bernie
beverly bev
bradley brad
bridget bridie biddy
calvin cal
cameron cam
carol carrie
caroline carrie carol
catherine cathy cat kate katie kathy cate caitlin katherine kathryn kathrine
charles charlie chuck chas chaz
christina chris tina christine kristina kristine
christopher chris kit topher
clifford cliff
constance connie
cynthia cindy
daniel dan danny
david dave davey
deborah deb debbie debra
dennis denny
derek derrick
dominic dom
donald don donnie
dorothy dot dottie
douglas doug
edward ed eddie ted teddy ned
eleanor ellie nell nora elle
elizabeth liz lizzie beth betty betsy eliza libby lisa elisabeth liza bess
emily em emmy
eugene gene
frances fran frannie
francis frank
franklin frank
frederick fred freddie fritz
gabriel gabe
gabrielle gabby
geoffrey geoff jeff
gerald gerry jerry
gregory greg
harold hal harry
harriet hattie
helen nell
henry hank harry hal
herbert herb bert
isaac ike
isabella bella izzy isabel isabelle
jacob jake jakey
james jim jimmy jamie jem
janet jan
jeffrey jeff
jennifer jen jenny jenn
jessica jess jessie
joanna jo joanne
john jack johnny jon
jonathan jon jonny
joseph joe joey jos
joshua josh
judith judy
julia julie
katherine kate katie kathy kat
kenneth ken kenny
kimberly kim
lawrence larry laurie laurence
leonard len lenny leo
leslie les
louis lou louie
louise lou
lucinda lucy cindy
madeline maddie madison maddy madeleine
margaret maggie meg peggy marge margie greta peg
matthew matt matty
melissa mel missy
michael mike mikey mick mickey
michelle shelly mich
mitchell mitch
nathan nate
nathaniel nate nat nathan
nicholas nick nicky nic
nicole nikki nicky
oliver ollie
pamela pam
patricia pat patty trish tricia
patrick pat paddy
peter pete
philip phil pip phillip
rebecca becky becca
richard rick ricky dick rich richie
robert bob bobby rob robbie bert
ronald ron ronnie
rosemary rose rosie
russell russ
samantha sam sammy
samuel sam sammy
sarah sara sally
stephanie steph
stephen steve stevie steven
susan sue susie suzy susanne
theodore ted teddy theo
thomas tom tommy
timothy tim timmy
valerie val
victoria vicky tori
vincent vince vinny
walter walt wally
william will bill billy willy liam
zachary zach zack
raymond ray
jacqueline jackie jacky
sandra sandy
olivia liv livvy
terrence terry
kathleen kathy kate
virginia ginny
theresa terri tess tessa teresa
teresa terri tess tessa
gabriela gabby gabi
alexis lexi
debra deb debbie
christine chris tina
steven steve
phillip phil
zachariah zach
`

// nicknames maps each variant (and each canonical name) to the canonical
// given names it may stand for ("sam" → samantha, samuel), and each
// canonical name to its variants.
type nicknames struct {
	canon    map[string][]string
	variants map[string][]string
}

// newNicknames parses nicknameTable plus extra entries (canonical name →
// variants).
func newNicknames(extra map[string][]string) nicknames {
	n := nicknames{canon: map[string][]string{}, variants: map[string][]string{}}
	add := func(canon string, vars []string) {
		if !slices.Contains(n.canon[canon], canon) {
			n.canon[canon] = append(n.canon[canon], canon)
		}
		for _, v := range vars {
			if !slices.Contains(n.canon[v], canon) {
				n.canon[v] = append(n.canon[v], canon)
			}
			if !slices.Contains(n.variants[canon], v) {
				n.variants[canon] = append(n.variants[canon], v)
			}
		}
	}
	for line := range strings.SplitSeq(nicknameTable, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		add(f[0], f[1:])
	}
	for canon, vars := range extra {
		fv := make([]string, 0, len(vars))
		for _, v := range vars {
			fv = append(fv, foldName(v))
		}
		add(foldName(canon), fv)
	}
	for k, v := range n.canon {
		slices.Sort(v)
		n.canon[k] = v
	}
	return n
}

// canonical returns the canonical names a folded given name may stand for
// (the name itself when the table does not know it).
func (n nicknames) canonical(s string) []string {
	if c, ok := n.canon[s]; ok {
		return c
	}
	return []string{s}
}

// sameWithTypo reports whether a may be a one-edit misspelling of the full
// name that the nickname b stands for ("rnoald" ~ "ron" through "ronald").
// Only nicknames count (b must not be a canonical name itself), and the
// full name must have at least 5 letters: short names one edit apart are
// often different names (mary, mark).
//
// a may also be a misspelling of a nickname of b's full name by one
// letter more, one less or two neighbours swapped ("nik" ~ "nicholas"
// through "nick", "treri" ~ "teresa" through "terri"), when the nickname
// has at least 4 letters and a at least 3. One letter replaced is not
// enough: emma is not emily through emmy, nor jose joseph through joey.
func (n nicknames) sameWithTypo(a, b string) bool {
	for _, c := range n.canonical(b) {
		if c != b && len(c) >= 5 && withinDistance(a, c, 1) {
			return true
		}
		if len(a) < 3 {
			continue
		}
		for _, v := range n.variants[c] {
			if v != b && v != a && len(v) >= 4 && withinDistance(a, v, 1) && (len(a) != len(v) || transposed(a, v)) {
				return true
			}
		}
	}
	return false
}

// transposed reports whether a and b, of one length, differ by two
// neighbouring letters swapped.
func transposed(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i+1 < len(a); i++ {
		if a[i] != b[i] {
			return a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
		}
	}
	return false
}
