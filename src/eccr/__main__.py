from eccr.cli.main import main

main()
