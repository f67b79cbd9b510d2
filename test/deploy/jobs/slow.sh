#!/bin/sh
# A job that takes a while: running while the package is upgraded.
echo "slow: started in $(hostname)"
sleep 20
echo "slow: done"
echo finished > slow.txt
