from swandoc.cli import main

main()
