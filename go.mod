module github.com/contactmerge/contactmerge

go 1.26
