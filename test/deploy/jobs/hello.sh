#!/bin/sh
# A well-behaved job: says where it runs and leaves one artifact.
echo "container: $(hostname)"
if [ -e /.dockerenv ]; then echo "in docker: yes"; else echo "in docker: no"; fi
echo "uid: $(id -u)"
mkdir -p out
echo "made by $(hostname)" > out/hello.txt
