package sandbox

// Word lists of the generator, most frequent first (weighted picks favour
// the start of each list, so that common names are shared by many people).
// They are functions returning fresh slices so that the package holds no
// mutable globals.

func firstNames() []string {
	return []string{
		"James", "Mary", "Michael", "John", "Robert", "Jennifer", "David", "Patricia", "William", "Linda",
		"Elizabeth", "Richard", "Barbara", "Joseph", "Susan", "Thomas", "Jessica", "Christopher", "Sarah", "Charles",
		"Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Donald",
		"Margaret", "Steven", "Ashley", "Andrew", "Kimberly", "Paul", "Emily", "Joshua", "Donna", "Kenneth",
		"Michelle", "Kevin", "Carol", "Brian", "Amanda", "Timothy", "Melissa", "Ronald", "Deborah", "George",
		"Stephanie", "Jason", "Dorothy", "Edward", "Rebecca", "Jeffrey", "Sharon", "Ryan", "Laura", "Jacob",
		"Cynthia", "Nicholas", "Amy", "Gary", "Kathleen", "Eric", "Angela", "Jonathan", "Shirley", "Stephen",
		"Brenda", "Larry", "Emma", "Justin", "Anna", "Scott", "Pamela", "Brandon", "Nicole", "Benjamin",
		"Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra", "Patrick", "Rachel", "Frank",
		"Carolyn", "Raymond", "Janet", "Jack", "Maria", "Dennis", "Olivia", "Jerry", "Heather", "Tyler",
		"Helen", "Aaron", "Catherine", "Jose", "Diane", "Adam", "Julie", "Nathan", "Victoria", "Henry",
		"Joyce", "Zachary", "Lauren", "Douglas", "Kelly", "Peter", "Christina", "Kyle", "Ruth", "Noah",
		"Joan", "Ethan", "Virginia", "Jeremy", "Judith", "Walter", "Evelyn", "Christian", "Hannah", "Keith",
		"Andrea", "Roger", "Megan", "Terry", "Cheryl", "Austin", "Jacqueline", "Sean", "Madison", "Gerald",
		"Teresa", "Carl", "Abigail", "Harold", "Sophia", "Dylan", "Martha", "Arthur", "Sara", "Lawrence",
		"Gloria", "Jordan", "Janice", "Jesse", "Kathryn", "Bryan", "Ann", "Billy", "Isabella", "Bruce",
		"Judy", "Gabriel", "Charlotte", "Joe", "Julia", "Logan", "Grace", "Alan", "Amber", "Juan",
		"Alice", "Albert", "Jean", "Willie", "Denise", "Elijah", "Frances", "Wayne", "Danielle", "Randy",
		"Marilyn", "Vincent", "Natalie", "Mason", "Beverly", "Roy", "Diana", "Ralph", "Brittany", "Bobby",
		"Theresa", "Russell", "Kayla", "Bradley", "Alexis", "Philip", "Doris", "Eugene", "Lori", "Louis",
		"Tiffany", "Harry", "Eleanor", "Leonard", "Valerie", "Mitchell", "Aisha", "Wei", "Priya", "Mohammed",
		"Fatima", "Hiroshi", "Mei", "Carlos", "Lucia", "Dmitri", "Ingrid", "Oluwaseun", "Siobhan", "Rajesh",
		"Nguyen", "Ahmed", "Sofia", "Mateo", "Chloe", "Liam", "Zoe", "Owen", "Leah", "Caleb",
		"Theodore", "Abby", "Frederick", "Cindy", "Gabriela", "Terrence", "Madeline", "Phillip", "Alexandra", "Zachariah",
	}
}

func lastNames() []string {
	return []string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
		"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
		"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
		"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
		"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
		"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
		"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
		"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
		"Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
		"Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
		"Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
		"Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
		"Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen",
		"Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
		"Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
		"Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
		"Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens",
		"Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
		"Arnold", "Pierce", "Vazquez", "Hansen", "Peters", "Santos", "Hart", "Bradley", "Knight", "Elliott",
		"Cunningham", "Duncan", "Armstrong", "Hudson", "Carroll", "Lane", "Riley", "Andrews", "Alvarado", "Ray",
		"Delgado", "Berry", "Perkins", "Hoffman", "Johnston", "Matthews", "Pena", "Richards", "Contreras", "Willis",
		"Carpenter", "Lawrence", "Sandoval", "Guerrero", "George", "Chapman", "Rios", "Estrada", "Ortega", "Watkins",
		"Greene", "Nunez", "Wheeler", "Valdez", "Harper", "Burke", "Larson", "Santiago", "Maldonado", "Morrison",
		"Franklin", "Carlson", "Austin", "Dominguez", "Carr", "Lawson", "Jacobs", "O'Brien", "Lynch", "Singh",
		"Vega", "Bishop", "Montgomery", "Oliver", "Jensen", "Harvey", "Williamson", "Gilbert", "Dean", "Sims",
		"Espinoza", "Howell", "Li", "Wong", "Reid", "Hanson", "Le", "McCoy", "Garrett", "Burton",
		"Fuller", "Wang", "Weber", "Welch", "Rojas", "Lucas", "Marquez", "Fields", "Park", "Yang",
		"Little", "Banks", "Padilla", "Day", "Walsh", "Bowman", "Schultz", "Luna", "Fowler", "Mejia",
		"Kowalski", "Nakamura", "Okafor", "Schneider", "Van der Berg", "MacLeod", "Fitzgerald", "Dubois", "Rossi", "Ivanova",
	}
}

// nicknames maps a formal first name to its common short forms.
func nicknames() map[string][]string {
	return map[string][]string{
		"Robert": {"Bob", "Rob", "Bobby"}, "William": {"Bill", "Will", "Billy"}, "Richard": {"Rick", "Rich", "Dick"},
		"James": {"Jim", "Jimmy", "Jamie"}, "John": {"Johnny", "Jack"}, "Michael": {"Mike", "Mikey"},
		"Elizabeth": {"Liz", "Beth", "Betty", "Lizzie"}, "Katherine": {"Kate", "Kathy", "Katie"}, "Jennifer": {"Jen", "Jenny"},
		"Margaret": {"Maggie", "Peggy", "Meg"}, "Christopher": {"Chris"}, "Matthew": {"Matt"}, "Anthony": {"Tony"},
		"Daniel": {"Dan", "Danny"}, "Joseph": {"Joe", "Joey"}, "Thomas": {"Tom", "Tommy"}, "Charles": {"Charlie", "Chuck"},
		"Steven": {"Steve"}, "Stephen": {"Steve"}, "Edward": {"Ed", "Eddie", "Ted"}, "Nicholas": {"Nick"}, "Jonathan": {"Jon"},
		"Benjamin": {"Ben"}, "Samuel": {"Sam"}, "Alexander": {"Alex"}, "Andrew": {"Andy", "Drew"}, "Joshua": {"Josh"},
		"Timothy": {"Tim"}, "Patricia": {"Pat", "Patty", "Trish"}, "Susan": {"Sue", "Suzy"}, "Deborah": {"Deb", "Debbie"},
		"Debra": {"Deb", "Debbie"}, "Rebecca": {"Becky", "Becca"}, "Victoria": {"Vicky", "Tori"}, "Samantha": {"Sam"},
		"Jessica": {"Jess"}, "Kimberly": {"Kim"}, "Stephanie": {"Steph"}, "Christine": {"Chris", "Tina"}, "Barbara": {"Barb"},
		"Donald": {"Don"}, "Ronald": {"Ron"}, "Kenneth": {"Ken", "Kenny"}, "Gregory": {"Greg"}, "Raymond": {"Ray"},
		"Lawrence": {"Larry"}, "Jeffrey": {"Jeff"}, "Gerald": {"Jerry"}, "Dorothy": {"Dot", "Dottie"}, "Frances": {"Fran"},
		"Gabriel": {"Gabe"}, "Zachary": {"Zach"}, "Nathan": {"Nate"}, "Patrick": {"Pat"}, "Peter": {"Pete"},
		"Frederick": {"Fred", "Freddie"}, "Albert": {"Al", "Bert"}, "Theodore": {"Ted", "Teddy", "Theo"},
		"Catherine": {"Cathy", "Kate"}, "Abigail": {"Abby"}, "Madeline": {"Maddie"}, "Jacqueline": {"Jackie"},
		"Alexandra": {"Alex", "Sasha"}, "Cynthia": {"Cindy"}, "Pamela": {"Pam"}, "Sandra": {"Sandy"}, "Angela": {"Angie"},
		"Melissa": {"Mel", "Missy"}, "Valerie": {"Val"}, "Olivia": {"Liv"}, "Isabella": {"Bella", "Izzy"},
		"Eleanor": {"Ellie", "Nora"}, "Harold": {"Harry", "Hal"}, "Henry": {"Hank", "Harry"}, "Walter": {"Walt"},
		"Leonard": {"Leo", "Len"}, "Vincent": {"Vince"}, "Douglas": {"Doug"}, "Phillip": {"Phil"}, "Philip": {"Phil"},
		"Bradley": {"Brad"}, "Russell": {"Russ"}, "Terrence": {"Terry"}, "Mitchell": {"Mitch"}, "Kathleen": {"Kathy"},
		"Judith": {"Judy"}, "Virginia": {"Ginny"}, "Theresa": {"Terri", "Tess"}, "Teresa": {"Terri", "Tess"},
		"Christina": {"Tina", "Chris"}, "Zachariah": {"Zach"}, "Gabriela": {"Gabby"}, "Alexis": {"Lexi"},
	}
}

// rareNicknames maps a formal first name to pet names and short forms
// that common nickname tables do not list (the matcher's included), as a
// family or an old CRM record may have them.
func rareNicknames() map[string][]string {
	return map[string][]string{
		"Robert": {"Bobbie", "Robin"}, "William": {"Wills", "Willo"}, "Richard": {"Dickie", "Richy"},
		"James": {"Jimbo", "Jay"}, "Michael": {"Mitch", "Micky"}, "Elizabeth": {"Elsie", "Bette"},
		"Margaret": {"Madge", "Daisy"}, "Katherine": {"Kay", "Kitty"}, "Jennifer": {"Jenna", "Jeni"},
		"Anthony": {"Ant", "Anton"}, "Joseph": {"Jojo", "Joss"}, "Thomas": {"Thom", "Tam"},
		"Christopher": {"Kris", "Cris"}, "Patricia": {"Patsy", "Tish"}, "Alexandra": {"Sasha", "Xandra"},
		"Samantha": {"Sammie", "Sami"}, "Victoria": {"Vix", "Queenie"}, "Susan": {"Suki", "Zuzu"},
		"Barbara": {"Bobbi", "Babsy"}, "Dorothy": {"Dolly", "Dodie"}, "Charles": {"Carlie", "Chip"},
		"Edward": {"Eddy", "Teddie"}, "Henry": {"Hen", "Harri"}, "Gregory": {"Gregg", "Grig"},
		"Jacqueline": {"Jacqui", "Jax"}, "Rebecca": {"Reba", "Bex"}, "Deborah": {"Debs", "Debby"},
	}
}

// city is a place contacts live in.
type city struct {
	name, state, zip, country string
	areaCodes                 []string // US: NPA; GB: national prefixes
}

func usCities() []city {
	return []city{
		{"New York", "NY", "100", "US", []string{"212", "646", "917", "718"}},
		{"Los Angeles", "CA", "900", "US", []string{"213", "310", "323"}},
		{"Chicago", "IL", "606", "US", []string{"312", "773", "872"}},
		{"Houston", "TX", "770", "US", []string{"713", "281", "832"}},
		{"Phoenix", "AZ", "850", "US", []string{"602", "480"}},
		{"Philadelphia", "PA", "191", "US", []string{"215", "267"}},
		{"San Antonio", "TX", "782", "US", []string{"210"}},
		{"San Diego", "CA", "921", "US", []string{"619", "858"}},
		{"Dallas", "TX", "752", "US", []string{"214", "469", "972"}},
		{"Austin", "TX", "787", "US", []string{"512", "737"}},
		{"Jacksonville", "FL", "322", "US", []string{"904"}},
		{"Columbus", "OH", "432", "US", []string{"614"}},
		{"Charlotte", "NC", "282", "US", []string{"704", "980"}},
		{"Indianapolis", "IN", "462", "US", []string{"317"}},
		{"San Francisco", "CA", "941", "US", []string{"415", "628"}},
		{"Seattle", "WA", "981", "US", []string{"206"}},
		{"Denver", "CO", "802", "US", []string{"303", "720"}},
		{"Nashville", "TN", "372", "US", []string{"615"}},
		{"Boston", "MA", "021", "US", []string{"617", "857"}},
		{"Portland", "OR", "972", "US", []string{"503", "971"}},
		{"Atlanta", "GA", "303", "US", []string{"404", "470", "678"}},
		{"Miami", "FL", "331", "US", []string{"305", "786"}},
		{"Minneapolis", "MN", "554", "US", []string{"612"}},
		{"Raleigh", "NC", "276", "US", []string{"919"}},
		{"Kansas City", "MO", "641", "US", []string{"816"}},
		{"Detroit", "MI", "482", "US", []string{"313"}},
		{"Pittsburgh", "PA", "152", "US", []string{"412"}},
		{"Salt Lake City", "UT", "841", "US", []string{"801", "385"}},
		{"Las Vegas", "NV", "891", "US", []string{"702"}},
		{"Indianapolis", "IN", "462", "US", []string{"463"}},
	}
}

func ukCities() []city {
	return []city{
		{"London", "", "SW1A", "GB", []string{"203", "207", "208"}},
		{"Manchester", "", "M1", "GB", []string{"161"}},
		{"Birmingham", "", "B1", "GB", []string{"121"}},
		{"Leeds", "", "LS1", "GB", []string{"113"}},
		{"Glasgow", "", "G1", "GB", []string{"141"}},
	}
}

func streetNames() []string {
	return []string{
		"Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
		"Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Highland", "Willow", "Meadow", "Forest",
		"Ridge", "Spring", "Chestnut", "Franklin", "Madison", "Jefferson", "Adams", "Cherry", "Valley", "Mill",
		"Center", "Union", "Broad", "Market", "Prospect", "Grove", "Hickory", "Birch", "Dogwood", "Magnolia",
		"Laurel", "Poplar", "Sycamore", "Aspen", "Bay", "Harbor", "Summit", "Colonial", "Fairview", "Woodland",
	}
}

// streetTypes pairs a street type with its abbreviation.
func streetTypes() [][2]string {
	return [][2]string{
		{"Street", "St"}, {"Avenue", "Ave"}, {"Road", "Rd"}, {"Drive", "Dr"}, {"Lane", "Ln"},
		{"Boulevard", "Blvd"}, {"Court", "Ct"}, {"Place", "Pl"}, {"Way", "Way"}, {"Terrace", "Ter"},
	}
}

func companies() []string {
	return []string{
		"Acme Logistics", "Blue Harbor Insurance", "Cedar Health", "Summit Energy", "Northwind Traders",
		"Globex", "Initech", "Umbrella Pharma", "Stark Manufacturing", "Wayne Shipping",
		"Pioneer Credit Union", "Riverbend Hospital", "Lakeside Realty", "Keystone Bank", "Evergreen Telecom",
		"Atlas Freight", "Horizon Airlines", "Crescent Foods", "Ironclad Security", "Silverline Motors",
		"BrightPath Education", "Redwood Outfitters", "Maple Leaf Hotels", "Granite Construction Co", "Harbor Dental",
		"Quantum Analytics", "Sterling Legal", "Oakridge Veterinary", "Falcon Aerospace", "Copperfield Retail",
	}
}

func emailDomains() []string {
	return []string{"gmail.com", "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "comcast.net", "att.net", "proton.me"}
}

func titles() []string {
	return []string{"Account Manager", "Office Manager", "Director of Operations", "Buyer", "Engineer", "Nurse", "Accountant", "Sales Representative", "Analyst", "VP Finance", "Receptionist", "Paralegal"}
}
