#!/bin/sh
# The first CGI script of seed 002 (5.1.1), as a shell script.
printf 'Content-Type: text/html\n'
printf '\n'
printf '<title>CGI Test Page</title>\n'
printf '<center><h1>Hello World!</h1></center>\n'
