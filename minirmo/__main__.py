from minirmo.cli import main

main()
