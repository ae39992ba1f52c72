// A legacy .NET client of srv.asmx, compiled against proxies that Mono's wsdl tool generates from the served
// WSDL: HttpGet (non-ASCII parameters travel as %uXXXX) and SOAP 1.1. Prints key=value lines for the test.
using System;
using System.Xml;

class SrvAsmxClient
{
    static string Attr(XmlNode node, string name)
    {
        XmlAttribute attribute = node == null || node.Attributes == null ? null : node.Attributes[name];
        return attribute == null ? "" : attribute.Value;
    }

    // over SOAP the proxy hands back the Result element; the <response> is inside it
    static XmlNode Response(XmlNode node)
    {
        if (node == null || node.LocalName == "response") return node;
        foreach (XmlNode child in node.ChildNodes) if (child.LocalName == "response") return child;
        return node;
    }

    static void Print(string key, XmlNode node)
    {
        XmlNode response = Response(node);
        Console.WriteLine(key + "=" + Attr(response, "success") + "|" + Attr(response, "error"));
    }

    static int Main(string[] args)
    {
        string url = args[0], login = args[1], password = args[2], path = args[3];

        HttpGetProxy.srv get = new HttpGetProxy.srv();
        get.Url = url;
        XmlNode auth = get.AuthenticateUser(login, password);
        string ticket = Attr(auth, "ticket");
        Print("get.AuthenticateUser", auth);
        Print("get.DeleteDocument", get.DeleteDocument(ticket, path));
        foreach (XmlNode document in get.GetRecycleBinContent(ticket).SelectNodes("document"))
            Console.WriteLine("get.bin=" + Attr(document, "Name") + "|" + Attr(document, "DeletePath") + "|" + Attr(document, "Handler"));

        SoapProxy.srv soap = new SoapProxy.srv();
        soap.Url = url;
        XmlNode soapAuth = Response(soap.AuthenticateUser(login, password));
        string soapTicket = Attr(soapAuth, "ticket");
        Print("soap.AuthenticateUser", soapAuth);
        Print("soap.isValidTicket", soap.isValidTicket(soapTicket));
        foreach (XmlNode document in Response(soap.GetRecycleBinContent(soapTicket)).SelectNodes("document"))
        {
            Console.WriteLine("soap.bin=" + Attr(document, "Name") + "|" + Attr(document, "Handler"));
            XmlNode statistics = Response(soap.GetUserStatistics(soapTicket, login));
            Console.WriteLine("soap.RecycledDocuments=" + statistics.SelectSingleNode("UserStatistics/RecycledDocuments").InnerText);
            Print("soap.RestoreRecycleBinItem", soap.RestoreRecycleBinItem(soapTicket, Attr(document, "Handler"), ""));
        }
        XmlNode renewed = Response(soap.RenewTicket(login, password, "", soapTicket));
        Print("soap.RenewTicket", renewed);
        Console.WriteLine("soap.RenewTicket.same=" + (Attr(renewed, "ticket") == soapTicket));
        Print("soap.LogOut", soap.LogOut(soapTicket));
        Print("soap.isValidTicket.afterLogOut", soap.isValidTicket(soapTicket));
        return 0;
    }
}
